import type { AppError } from './errors';

const encoder = new TextEncoder();

export interface ErrorPayload {
  error: { code: string; message: string; request_id: string };
}

/** The JSON error every failure answers with: `{"error": {code, message, request_id}}`. */
export function errorResponse(
  error: AppError,
  requestId: string,
): { statusCode: number; headers: Record<string, string>; body: Uint8Array; payload: ErrorPayload } {
  const message = error.expose ? error.message : 'Internal error';
  const payload = { error: { code: error.code, message, request_id: requestId } };
  return { statusCode: error.statusCode, headers: { ...error.headers }, body: encoder.encode(JSON.stringify(payload)), payload };
}
