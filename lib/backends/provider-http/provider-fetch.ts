import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { finished } from 'node:stream';
import { urlToHttpOptions } from 'node:url';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
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

/** Codes for "gave up waiting", as opposed to "could not connect". */
const TIMEOUT_CODES = new Set(['ETIMEDOUT']);

/** A provider's answer: its status, its headers, and its body, read once. */
export interface ProviderAnswer {
  status: number;
  /** A 2xx status. */
  ok: boolean;
  /** A header's value (names in any case); repeated headers are joined with `, `. */
  header(name: string): string | undefined;
  /** Leaving a `for await` over it early stops the read and closes the connection (but see `keepConnection`). */
  body: AsyncIterable<Uint8Array>;
  /**
   * The whole body as text, keeping at most `limit` bytes: past it, the read stops there and the
   * connection is closed. Read failures reject untranslated. Read it this way or through `body`.
   */
  text(limit: number): Promise<{ text: string; overLimit: boolean }>;
  /** Stops reading an answer that will not be read to its end. */
  discard(): void;
  /**
   * The reader met the answer's end marker (a stream's `[DONE]`) and leaves: what is left of the
   * body (its last chunk, usually here already) is read in the background, briefly, so that the
   * connection goes back to the pool rather than being closed. Called before leaving the loop.
   */
  keepConnection(): void;
}

/** How long the rest of a body may take to arrive after its end marker before the connection is cut. */
const drainAfterEndMarkerMs = 1_000;

// Connections to providers stay open between requests, for as long as the container lives.
const httpAgent = new HttpAgent({ keepAlive: true });
const httpsAgent = new HttpsAgent({ keepAlive: true });

/**
 * POSTs a JSON body and resolves with the answer, whatever its status. A failure to get an
 * answer at all (refused, reset, DNS, TLS, abort) becomes an `AppError`.
 *
 * Over node:http(s) on keep-alive agents, not `fetch`: leaving the WHATWG layer (web streams,
 * `Request`/`Response` objects, header guards) took the invocation handler's CPU to ×0.85
 * (`npm run bench:hot-path`, BENCHMARKS.md), and undici's own `request`, as fast, adds about 540 KB
 * to every bundle that calls a model. node:http
 * follows no redirect: an API does not redirect, and following one would hand our key (x-api-key
 * is not stripped across origins) to wherever it points. A 3xx is answered as a refusal instead.
 */
export function postJson(url: string, call: { headers: Record<string, string>; body: unknown }, context: ProviderCallContext): Promise<ProviderAnswer> {
  const body = JSON.stringify(call.body);
  return new Promise((resolve, reject) => {
    let target: RequestTarget;
    try {
      target = requestTarget(url);
    } catch (error) {
      reject(translateFetchFailure(error, context));
      return;
    }
    const https = target.protocol === 'https:';
    const outgoing = (https ? httpsRequest : httpRequest)(
      {
        ...target,
        method: 'POST',
        agent: https ? httpsAgent : httpAgent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...call.headers },
        signal: context.signal,
      },
      (answer: IncomingMessage) => {
        // A failure while the body is read reaches the reader through its iterator; this listener
        // only keeps one that happens before the reader starts from being an uncaught error.
        answer.on('error', () => undefined);
        const status = answer.statusCode ?? 0;
        let keep = false;
        resolve({
          status,
          ok: status >= 200 && status < 300,
          header(name) {
            const value = answer.headers[name.toLowerCase()];
            return Array.isArray(value) ? value.join(', ') : value;
          },
          body: bodyOf(answer, () => keep),
          text: (limit) => textOf(answer, limit),
          discard: () => answer.destroy(),
          keepConnection: () => {
            keep = true;
          },
        });
      },
    );
    // Every error of the request (before or after the answer began) is handled here, once.
    outgoing.on('error', (error) => reject(translateFetchFailure(error, context)));
    outgoing.end(body);
  });
}

/**
 * An answer's chunks. Leaving a `for await` early closes the connection, as a half-read answer
 * cannot be reused; once the reader has its end marker (`keepConnection`), the rest is drained
 * instead: a streamed call then leaves a connection the next call reuses (no new TCP and TLS
 * handshake to the provider per stream).
 */
function bodyOf(answer: IncomingMessage, keep: () => boolean): AsyncIterable<Uint8Array> {
  return {
    [Symbol.asyncIterator]() {
      const chunks = answer.iterator({ destroyOnReturn: false });
      return {
        next: () => chunks.next(),
        async return(value?: unknown) {
          await chunks.return?.();
          if (keep()) drainBriefly(answer);
          else answer.destroy();
          return { done: true, value };
        },
      };
    },
  };
}

/**
 * An answer's body read whole, from its events: one promise for the body rather than two for
 * each chunk, which is what reading a JSON answer costs on every call. `finished` reports a body
 * cut short (the connection dropped, the call's signal aborted) as the chunks' iterator does.
 */
function textOf(answer: IncomingMessage, limit: number): Promise<{ text: string; overLimit: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size <= limit) return void chunks.push(chunk);
      answer.off('data', onData);
      answer.destroy();
      resolve({ text: '', overLimit: true });
    };
    answer.on('data', onData);
    finished(answer, (error) => {
      if (size > limit) return;
      if (error) reject(error);
      else resolve({ text: Buffer.concat(chunks, size).toString('utf8'), overLimit: false });
    });
  });
}

function drainBriefly(answer: IncomingMessage): void {
  if (answer.readableEnded) return;
  const cut = setTimeout(() => answer.destroy(), drainAfterEndMarkerMs);
  cut.unref();
  const settled = () => clearTimeout(cut);
  answer.once('end', settled).once('close', settled);
  answer.resume();
}

type RequestTarget = Pick<RequestOptions, 'protocol' | 'hostname' | 'port' | 'path' | 'auth'>;

/** Parsed once per URL: the served entities' URLs are few and fixed by the endpoint config. */
const requestTargets = new Map<string, RequestTarget>();

function requestTarget(url: string): RequestTarget {
  let target = requestTargets.get(url);
  if (target === undefined) {
    const { protocol, hostname, port, path, auth } = urlToHttpOptions(new URL(url));
    target = { protocol, hostname, port, path, auth };
    requestTargets.set(url, target);
  }
  return target;
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
  // Network errors carry a code (ECONNREFUSED, ECONNRESET, EPIPE, ...), here or on their cause.
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

/** Reads an error answer's body for its message; a body that cannot be read is an empty one. */
export async function readErrorBody(answer: ProviderAnswer): Promise<string> {
  try {
    const { text } = await answer.text(maxErrorBodyBytes);
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
    body = await answer.text(maxAnswerBytes);
  } catch (error) {
    throw translateFetchFailure(error, context);
  }
  if (body.overLimit) {
    // Not malformed: too much for one answer (a large embeddings batch), which the caller can split.
    throw new BadGatewayError('BAD_BACKEND_RESPONSE', `Served entity ${context.entity} answered with more than ${maxAnswerBytes} bytes, more than one answer carries; ask for less at a time`);
  }
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
