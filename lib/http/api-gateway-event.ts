import { Readable } from 'node:stream';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { newRequestId } from './request-id';
import { errorResponse } from '../core/error-response';
import type { AppError } from '../core/errors';
import type { InvocationOutcome, InvocationRequest, InvocationSurface } from '../core/serve-invocation';

/**
 * Reads an API Gateway (REST, payload v1) proxy event into our request shape. Headers are
 * expected lower-cased (http-header-normalizer runs first).
 */
export function invocationRequestFromEvent(
  event: APIGatewayProxyEvent,
  surface: InvocationSurface,
  ids: { requestId: string; receivedAt: Date; startedAt: number },
): InvocationRequest {
  const headers = event.headers ?? {};
  const raw = event.body ?? '';
  return {
    ...ids,
    surface,
    endpointName: event.pathParameters?.name,
    authorization: headers.authorization,
    contentType: headers['content-type'],
    body: Buffer.from(raw, event.isBase64Encoded ? 'base64' : 'utf8'),
    clientIp: event.requestContext?.identity?.sourceIp ?? undefined,
    userAgent: headers['user-agent'],
  };
}

/**
 * A response for a streaming handler (`streamingHandler`): the status and headers go first, then
 * the body — the JSON text at once, or Server-Sent Events as they are produced.
 */
export interface StreamingResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string | Readable;
}

/** Our outcome as a streaming handler returns it, with the request id on every answer. */
export function streamingResult(outcome: InvocationOutcome, requestId: string): StreamingResult {
  const headers = { 'content-type': 'application/json', ...outcome.headers, 'x-request-id': requestId };
  const { body } = outcome;
  if (body instanceof Uint8Array) return { statusCode: outcome.statusCode, headers, body: Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8') };
  return { statusCode: outcome.statusCode, headers, body: Readable.from(body, { objectMode: false }) };
}

/** Our JSON answer as a buffered API Gateway proxy result, with the request id on every answer. */
export function apiGatewayResult(outcome: { statusCode: number; headers: Record<string, string>; body: Uint8Array }, requestId: string): APIGatewayProxyResult {
  const body = outcome.body;
  return {
    statusCode: outcome.statusCode,
    headers: { ...outcome.headers, 'content-type': 'application/json', 'x-request-id': requestId },
    body: Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'),
  };
}

/** An error as API Gateway expects it: our JSON error body, under a fresh request id. */
export function apiGatewayErrorResult(error: AppError): APIGatewayProxyResult {
  const requestId = newRequestId();
  return apiGatewayResult(errorResponse(error, requestId), requestId);
}
