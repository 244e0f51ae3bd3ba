/**
 * The one error hierarchy of modelgate. Every failure the gateway can explain to a caller is an
 * `AppError` with an HTTP status and a stable machine-readable `code`; only the HTTP edge turns
 * them into responses. `expose` is false for 5xx so internals never reach a caller.
 */
export interface AppErrorOptions {
  cause?: unknown;
  /** Extra response headers the error implies (e.g. `retry-after`). */
  headers?: Record<string, string>;
}

export abstract class AppError extends Error {
  abstract readonly statusCode: number;
  abstract readonly code: string;
  readonly headers: Record<string, string>;

  constructor(message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.headers = options.headers ?? {};
  }

  /** Whether the message may be shown to the caller as it is. */
  get expose(): boolean {
    return this.statusCode < 500;
  }
}

/** 400: the body is not JSON, has the wrong shape or types; the message names the field. */
export class InvalidRequestError extends AppError {
  readonly statusCode = 400;
  readonly code = 'INVALID_REQUEST';
}

/** 400: the model itself rejected the input (it answered with its own 4xx). */
export class ModelInputError extends AppError {
  readonly statusCode = 400;
  readonly code = 'MODEL_REJECTED_INPUT';
}

/** 401: no API key, a malformed one, or one we do not know. */
export class UnauthenticatedError extends AppError {
  readonly statusCode = 401;
  readonly code = 'UNAUTHENTICATED';
}

/** 403: a valid key that may not do this (not granted, suspended, revoked). */
export class PermissionDeniedError extends AppError {
  readonly statusCode = 403;
  readonly code = 'PERMISSION_DENIED';
}

/** 404: no serving endpoint or route by that name. */
export class NotFoundError extends AppError {
  readonly statusCode = 404;
  readonly code = 'NOT_FOUND';
}

/** 405: the route exists but not with this method. */
export class MethodNotAllowedError extends AppError {
  readonly statusCode = 405;
  readonly code = 'METHOD_NOT_ALLOWED';
}

/** 409: an idempotency key reused with a different request, or while its first request is still being submitted. */
export class ConflictError extends AppError {
  readonly statusCode = 409;
  readonly code: string;
  constructor(code: 'IDEMPOTENCY_KEY_REUSED' | 'IDEMPOTENCY_KEY_IN_USE', message: string, options?: AppErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** 413: the body is larger than the endpoint accepts. */
export class PayloadTooLargeError extends AppError {
  readonly statusCode = 413;
  readonly code = 'PAYLOAD_TOO_LARGE';
}

/** 415: the body is not declared as JSON. */
export class UnsupportedMediaTypeError extends AppError {
  readonly statusCode = 415;
  readonly code = 'UNSUPPORTED_MEDIA_TYPE';
}

/**
 * 429: a limit of the key, the endpoint or the tenant's monthly budget is reached. `limit` names
 * which one (also sent as `x-modelgate-limit`); `retry-after` says when it frees up.
 */
export class RateLimitedError extends AppError {
  readonly statusCode = 429;
  readonly code: string;
  readonly limit: string;
  readonly retryAfterSeconds: number;
  constructor(limit: string, retryAfterSeconds: number, message: string, options: AppErrorOptions = {}) {
    const seconds = Math.max(1, Math.ceil(retryAfterSeconds));
    super(message, { ...options, headers: { ...options.headers, 'retry-after': String(seconds), 'x-modelgate-limit': limit } });
    this.code = limit.startsWith('tenant.budget') ? 'BUDGET_EXHAUSTED' : 'RATE_LIMITED';
    this.limit = limit;
    this.retryAfterSeconds = seconds;
  }
}

/** 499 (nginx's convention): the caller went away before a streamed answer was complete; audit only. */
export class ClientClosedRequestError extends AppError {
  readonly statusCode = 499;
  readonly code = 'CLIENT_CLOSED_REQUEST';
}

/** 500: a bug or an unexpected failure; never shown to the caller. */
export class InternalError extends AppError {
  readonly statusCode = 500;
  readonly code = 'INTERNAL_ERROR';
}

/**
 * 502: the model failed (its own 5xx), answered with something that is not a prediction, or its
 * provider refused modelgate's call (`BACKEND_REFUSED`: our key, quota or configuration, which
 * the same call again cannot cure).
 */
export class BadGatewayError extends AppError {
  readonly statusCode = 502;
  readonly code: string;
  constructor(code: 'MODEL_ERROR' | 'BAD_BACKEND_RESPONSE' | 'BACKEND_REFUSED', message: string, options?: AppErrorOptions) {
    super(message, options);
    this.code = code;
  }
  override get expose(): boolean {
    // Our own message is safe to show; the backend's raw text stays in the `cause`.
    return true;
  }
}

/**
 * 503: the backend is throttling, not ready or down; an audit/usage hand-off failed; a submission
 * could not be queued; or the shared limits could not be checked (limits fail closed: an unchecked
 * request could overshoot a budget).
 */
export class ServiceUnavailableError extends AppError {
  readonly statusCode = 503;
  readonly code: string;
  constructor(
    code: 'BACKEND_THROTTLED' | 'BACKEND_UNAVAILABLE' | 'AUDIT_UNAVAILABLE' | 'LIMITS_UNAVAILABLE' | 'QUEUE_UNAVAILABLE',
    message: string,
    options?: AppErrorOptions,
  ) {
    super(message, options);
    this.code = code;
  }
  override get expose(): boolean {
    return true;
  }
}

/** 504: the backend did not answer within the endpoint's timeout. */
export class GatewayTimeoutError extends AppError {
  readonly statusCode = 504;
  readonly code = 'BACKEND_TIMEOUT';
  override get expose(): boolean {
    return true;
  }
}

/** A configuration that cannot be served; thrown at cold start, never per request. */
export class ConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConfigError';
  }
}

/** Anything thrown becomes an AppError; what we did not anticipate is an opaque 500. */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  return new InternalError('Internal error', { cause: error });
}

/**
 * The audit chain's next sequence number kept being taken by concurrent archivers. The batch is
 * retried as a whole (its messages return to the queue), nothing is lost.
 */
export class AuditChainConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuditChainConflictError';
  }
}
