import type { z } from 'zod';
import { describeIssues } from '../../core/describe-issues';
import {
  AppError,
  BadGatewayError,
  GatewayTimeoutError,
  InternalError,
  ServiceUnavailableError,
} from '../../core/errors';

/** Who is being called and until when: enough to word an error and to stop in time. */
export interface ProviderCallContext {
  /** The served entity's name, for messages. */
  entity: string;
  signal: AbortSignal;
}

/** Largest answer read from a provider: past Lambda's payload limits, a runaway, not an answer. */
export const maxAnswerBytes = 16 * 1024 * 1024;
/** Error bodies are read this far and no further. */
const maxErrorBodyBytes = 64 * 1024;

/** undici's codes for "gave up waiting", as opposed to "could not connect". */
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

/**
 * POSTs a JSON body and resolves with the response, whatever its status. A failure to get an
 * answer at all (refused, reset, DNS, TLS, abort) becomes an `AppError`.
 */
export async function postJson(
  fetchImpl: typeof fetch,
  url: string,
  request: { headers: Record<string, string>; body: unknown },
  context: ProviderCallContext,
): Promise<Response> {
  try {
    return await fetchImpl(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...request.headers },
      body: JSON.stringify(request.body),
      signal: context.signal,
      // An API does not redirect; following one would hand our key (x-api-key is not stripped
      // across origins) to wherever it points. A 3xx is answered as a refusal instead.
      redirect: 'manual',
    });
  } catch (error) {
    throw translateFetchFailure(error, context);
  }
}

/**
 * Maps what `fetch` or a body read threw to an `AppError`: past the deadline is a 504; a
 * connection that could not be made or broke is a 503 `BACKEND_UNAVAILABLE`; anything else is
 * ours (an opaque 500). `AppError`s pass through.
 */
export function translateFetchFailure(error: unknown, context: ProviderCallContext): AppError {
  if (error instanceof AppError) return error;
  const { entity } = context;
  const name = (error as { name?: unknown } | null)?.name;
  if (context.signal.aborted || name === 'AbortError' || name === 'TimeoutError') {
    return new GatewayTimeoutError(`Served entity ${entity} did not answer in time`, { cause: error });
  }
  const code = networkCode(error);
  if (code !== undefined && TIMEOUT_CODES.has(code)) {
    return new GatewayTimeoutError(`Served entity ${entity} did not answer in time`, { cause: error });
  }
  // undici throws a TypeError ("fetch failed", "terminated") with the socket error as its cause.
  if (code !== undefined || (error instanceof TypeError && (error.message === 'fetch failed' || error.message === 'terminated'))) {
    return new ServiceUnavailableError('BACKEND_UNAVAILABLE', `Served entity ${entity} could not be reached or dropped the connection`, {
      cause: error,
    });
  }
  return new InternalError('Internal error', { cause: error });
}

function networkCode(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 4; current = current.cause, depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/** A 502 for an answer that is not what the protocol promises; the detail stays in the cause. */
export function badBackendResponse(entity: string, detail: string, cause?: unknown): BadGatewayError {
  return new BadGatewayError('BAD_BACKEND_RESPONSE', `Served entity ${entity} answered with a malformed response`, {
    cause: new Error(detail, cause === undefined ? undefined : { cause }),
  });
}

/**
 * Reads a body as text, keeping at most `limit` bytes; the rest is cancelled, not read.
 * Read failures propagate untranslated.
 */
export async function readBodyText(response: Response, limit: number): Promise<{ text: string; overLimit: boolean }> {
  if (response.body === null) return { text: '', overLimit: false };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > limit) {
        await reader.cancel().catch(() => undefined);
        return { text: '', overLimit: true };
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  return { text: Buffer.concat(chunks).toString('utf8'), overLimit: false };
}

/** Reads an error answer's body for its message; a body that cannot be read is an empty one. */
export async function readErrorBody(response: Response): Promise<string> {
  try {
    const { text } = await readBodyText(response, maxErrorBodyBytes);
    return text;
  } catch {
    return '';
  }
}

/** Reads a successful answer, parses it as JSON and checks it against the protocol's schema. */
export async function readJsonAnswer<Schema extends z.ZodType>(
  response: Response,
  schema: Schema,
  context: ProviderCallContext,
): Promise<z.infer<Schema>> {
  let body: { text: string; overLimit: boolean };
  try {
    body = await readBodyText(response, maxAnswerBytes);
  } catch (error) {
    throw translateFetchFailure(error, context);
  }
  if (body.overLimit) throw badBackendResponse(context.entity, `answer over ${maxAnswerBytes} bytes`);
  return parseJsonWith(body.text, schema, context.entity);
}

/** Parses JSON text against a schema; either failure is a malformed answer. */
export function parseJsonWith<Schema extends z.ZodType>(text: string, schema: Schema, entity: string): z.infer<Schema> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw badBackendResponse(entity, `answer is not JSON: ${text.slice(0, 200)}`, error);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw badBackendResponse(entity, `answer does not fit the protocol: ${describeIssues(parsed.error.issues)}`);
  return parsed.data;
}
