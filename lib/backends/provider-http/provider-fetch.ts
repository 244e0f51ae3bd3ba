import { request } from 'undici';
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

/** A provider's answer: its status, its headers, and its body, read once. */
export interface ProviderAnswer {
  status: number;
  /** A 2xx status. */
  ok: boolean;
  /** A header's value (names in any case); repeated headers are joined with `, `. */
  header(name: string): string | undefined;
  /** Leaving a `for await` over it early stops the read and lets the connection go. */
  body: AsyncIterable<Uint8Array>;
  /** Stops reading an answer that will not be read to its end. */
  discard(): void;
}

/**
 * POSTs a JSON body and resolves with the answer, whatever its status. A failure to get an
 * answer at all (refused, reset, DNS, TLS, abort) becomes an `AppError`.
 *
 * Over undici's `request` on its keep-alive pool, not `fetch`: the same client without the
 * WHATWG layer (web streams, `Request`/`Response` objects, header guards), which cost 13% of the
 * invocation handler's CPU (BENCHMARKS.md). undici follows no redirect here: an API does not
 * redirect, and following one would hand our key (x-api-key is not stripped across origins) to
 * wherever it points. A 3xx is answered as a refusal instead.
 */
export async function postJson(url: string, call: { headers: Record<string, string>; body: unknown }, context: ProviderCallContext): Promise<ProviderAnswer> {
  try {
    const answer = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...call.headers },
      body: JSON.stringify(call.body),
      signal: context.signal,
    });
    return {
      status: answer.statusCode,
      ok: answer.statusCode >= 200 && answer.statusCode < 300,
      header(name) {
        const value = answer.headers[name.toLowerCase()];
        return Array.isArray(value) ? value.join(', ') : value;
      },
      body: answer.body,
      discard: () => answer.body.destroy(),
    };
  } catch (error) {
    throw translateFetchFailure(error, context);
  }
}

/**
 * Maps what the request or a body read threw to an `AppError`: past the deadline is a 504; a
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
  // undici's errors carry a code (UND_ERR_SOCKET, ECONNREFUSED, ...), here or on their cause.
  if (code !== undefined) {
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
 * Reads a body as text, keeping at most `limit` bytes; the rest is discarded, not read.
 * Read failures propagate untranslated.
 */
export async function readBodyText(answer: ProviderAnswer, limit: number): Promise<{ text: string; overLimit: boolean }> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of answer.body) {
    size += chunk.byteLength;
    if (size > limit) {
      answer.discard();
      return { text: '', overLimit: true };
    }
    chunks.push(chunk);
  }
  return { text: Buffer.concat(chunks).toString('utf8'), overLimit: false };
}

/** Reads an error answer's body for its message; a body that cannot be read is an empty one. */
export async function readErrorBody(answer: ProviderAnswer): Promise<string> {
  try {
    const { text } = await readBodyText(answer, maxErrorBodyBytes);
    return text;
  } catch {
    return '';
  }
}

/** Reads a successful answer, parses it as JSON and checks it against the protocol's schema. */
export async function readJsonAnswer<Schema extends z.ZodType>(
  answer: ProviderAnswer,
  schema: Schema,
  context: ProviderCallContext,
): Promise<z.infer<Schema>> {
  let body: { text: string; overLimit: boolean };
  try {
    body = await readBodyText(answer, maxAnswerBytes);
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
