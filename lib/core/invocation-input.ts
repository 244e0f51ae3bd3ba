import { isUtf8 } from 'node:buffer';
import type { Principal } from './api-key';
import { authorizeInvocation } from './authenticate';
import type { EndpointRegistry } from './endpoint-registry';
import type { ServingEndpoint, Task } from './endpoint-config';
import { formatPath } from './describe-issues';
import { InvalidRequestError, NotFoundError, PayloadTooLargeError, UnsupportedMediaTypeError } from './errors';
import { jsonNesting, MAX_JSON_NESTING } from './json-nesting';
import { parseModelInput, type ModelInput } from './model-call';

/**
 * Which route the request came in on: the Databricks-style invocations path (endpoint in the path,
 * any task) or one of the OpenAI-compatible paths (endpoint in the body's `model`, task fixed).
 */
export type InvocationSurface = 'invocations' | 'chat' | 'completions' | 'embeddings';

/** What the edge knows about a request body before anything about it is trusted. */
export interface RawInvocation {
  surface: InvocationSurface;
  /** The endpoint named in the path (invocations surface only). */
  endpointName: string | undefined;
  contentType: string | undefined;
  body: Uint8Array;
}

/** A request checked against its endpoint: named, authorized, within size, and fit for the task. */
export interface CheckedInvocation {
  endpoint: ServingEndpoint;
  /** The body as parsed JSON. */
  json: unknown;
  input: ModelInput;
}

const JSON_CONTENT_TYPE = /^application\/([a-z0-9.+-]+\+)?json\s*(;.*)?$/i;
/** Lambda's synchronous payload limit: no endpoint accepts more, so nothing larger is parsed. */
export const LARGEST_BODY_BYTES = 6_000_000;

/**
 * Resolves the endpoint a request names (path or `model`), authorizes the principal for it, and
 * validates the body against the endpoint's task: the checks every invocation passes, synchronous
 * or queued, before any model is called. Split in two so that a caller can record the endpoint
 * and body before the task check refuses them: {@link resolveInvocation}, then
 * {@link parseModelInput}.
 * @throws the AppError (400, 403, 404, 413, 415) that refuses the request.
 */
export function checkInvocation(request: RawInvocation, endpoints: EndpointRegistry, principal: Principal): CheckedInvocation {
  const { endpoint, json } = resolveInvocation(request, endpoints, principal);
  return { endpoint, json, input: parseModelInput(endpoint, request.body, json) };
}

/** What a caller of {@link resolveInvocation} hears before a refusal may cut it short. */
export interface ResolutionObserver {
  /** The body, as soon as it is read. */
  parsed?: (json: unknown) => void;
  /** The endpoint named, as soon as it is found (before the principal is authorized for it). */
  found?: (endpoint: ServingEndpoint) => void;
}

/**
 * The endpoint a request names (path or `model`), authorized for the principal, and its body parsed.
 * The observer hears of the body and of the endpoint as soon as each is known, so that a refusal
 * (an unknown `model`, an endpoint not granted, a body too large, another task) is still recorded
 * under the name and with the audit policy of the endpoint the request named.
 * @throws the AppError (400, 403, 404, 413, 415) that refuses the request.
 */
export function resolveInvocation(
  request: RawInvocation,
  endpoints: EndpointRegistry,
  principal: Principal,
  observer: ResolutionObserver = {},
): { endpoint: ServingEndpoint; json: unknown } {
  if (request.contentType !== undefined && !JSON_CONTENT_TYPE.test(request.contentType)) {
    throw new UnsupportedMediaTypeError(`Content-Type ${request.contentType} is not supported; send application/json`);
  }
  if (request.surface === 'invocations') {
    const endpoint = findEndpoint(endpoints, request.endpointName ?? '');
    observer.found?.(endpoint);
    authorizeInvocation(principal, endpoint);
    checkSize(request.body, endpoint.maxRequestBytes, endpoint.name);
    return { endpoint, json: parseJsonBody(request.body) };
  }
  checkSize(request.body, LARGEST_BODY_BYTES, undefined);
  const json = parseJsonBody(request.body);
  observer.parsed?.(json);
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new InvalidRequestError(`Request body must be a JSON object naming its model, not ${kindOf(json)}`);
  }
  const { model } = json as { model?: unknown };
  if (model === undefined || model === null || model === '') {
    throw new InvalidRequestError('model: required; name the serving endpoint to query');
  }
  if (typeof model !== 'string') {
    throw new InvalidRequestError(`model: must be a string, the name of the serving endpoint to query, not ${kindOf(model)}`);
  }
  const endpoint = findEndpoint(endpoints, model);
  observer.found?.(endpoint);
  authorizeInvocation(principal, endpoint);
  checkSize(request.body, endpoint.maxRequestBytes, endpoint.name);
  if (endpoint.task !== request.surface) throw wrongSurface(endpoint, request.surface);
  return { endpoint, json };
}

/** A JSON value's kind, as an error names it: `an array`, `a number`, `null`. */
function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** @throws NotFoundError (404) when no endpoint has the name. */
export function findEndpoint(endpoints: EndpointRegistry, name: string): ServingEndpoint {
  const endpoint = endpoints.get(name);
  if (endpoint === undefined) throw new NotFoundError(`No serving endpoint named ${name}`);
  return endpoint;
}

function checkSize(body: Uint8Array, limit: number, endpointName: string | undefined): void {
  if (body.byteLength <= limit) return;
  const who = endpointName === undefined ? 'modelgate accepts' : `endpoint ${endpointName} accepts`;
  throw new PayloadTooLargeError(`Request body is ${body.byteLength} bytes; ${who} at most ${limit}`);
}

const SURFACE_PATHS: Record<Exclude<InvocationSurface, 'invocations'>, string> = {
  chat: '/v1/chat/completions',
  completions: '/v1/completions',
  embeddings: '/v1/embeddings',
};

function wrongSurface(endpoint: ServingEndpoint, surface: Exclude<InvocationSurface, 'invocations'>): InvalidRequestError {
  const where: Record<Task, string> = {
    custom: `/serving-endpoints/${endpoint.name}/invocations`,
    ...SURFACE_PATHS,
  };
  return new InvalidRequestError(
    `model: endpoint ${endpoint.name} serves the ${endpoint.task} task, not ${surface}; send it to ${where[endpoint.task]}`,
  );
}

/**
 * A body's JSON value.
 * @throws InvalidRequestError (400) when it is empty, not JSON, or nested deeper than `MAX_JSON_NESTING`.
 */
export function parseJsonBody(body: Uint8Array): unknown {
  if (body.byteLength === 0) throw new InvalidRequestError('Request body is empty; send a JSON request');
  const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  // Decoding would turn bad bytes into U+FFFD: the audit log would hold other text than the model got.
  if (!isUtf8(bytes)) throw new InvalidRequestError('Request body is not valid UTF-8');
  const text = bytes.toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    const detail = cause instanceof SyntaxError ? `: ${cause.message}` : '';
    throw new InvalidRequestError(`Request body is not valid JSON${detail}`, { cause });
  }
  if (jsonNesting(body) > MAX_JSON_NESTING) {
    throw new InvalidRequestError(`Request body nests arrays and objects more than ${MAX_JSON_NESTING} levels deep`);
  }
  // A number past a double's range has a three-digit exponent or, with a shorter one, 210 digits
  // before its point; the walk over the parsed body is only for bodies holding either (in a string too).
  if (MAY_OVERFLOW.test(text)) {
    const path = pathOfInfinity(json);
    if (path !== undefined) {
      throw new InvalidRequestError(`${formatPath(path) || 'Request body'}: a number too large for a double (it would reach the model as something else than was sent)`);
    }
  }
  return json;
}

// The lookbehind lets a digit run be tried from its first digit only: linear in the body's length.
const MAY_OVERFLOW = /[eE]\+?\d{3}|(?<!\d)\d{200}/;

/**
 * Where the parsed value holds a number JSON.parse made infinite, if anywhere. The path is built
 * on the way back, from the one place found: a body of millions of values is walked in milliseconds.
 */
function pathOfInfinity(value: unknown): PropertyKey[] | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : [];
  if (value === null || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index += 1) {
      const found = pathOfInfinity(value[index]);
      if (found !== undefined) return [index, ...found];
    }
    return undefined;
  }
  for (const key of Object.keys(value)) {
    const found = pathOfInfinity((value as Record<string, unknown>)[key]);
    if (found !== undefined) return [key, ...found];
  }
  return undefined;
}
