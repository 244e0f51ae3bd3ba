import type { CircuitBreakers } from './circuit-breaker';
import type { ServedEntity, ServingEndpoint } from './endpoint-config';
import { AppError, BadGatewayError, GatewayTimeoutError, ServiceUnavailableError, toAppError } from './errors';
import { pickServedEntity } from './pick-served-entity';

/** One call made (or skipped) while routing a request, for the audit record. */
export interface RouteAttempt {
  entity: string;
  /** `ok`, the error code the call failed with, or `CIRCUIT_OPEN` when it was not made. */
  outcome: string;
  latencyMs: number;
}

export type RouteResult<T> =
  | { ok: true; value: T; entity: ServedEntity; attempts: RouteAttempt[] }
  | { ok: false; error: AppError; entity: ServedEntity | undefined; attempts: RouteAttempt[] };

export interface RouteDeps {
  breakers: CircuitBreakers;
  /** Monotonic milliseconds. */
  now: () => number;
  /** Uniform in [0, 1), for backoff jitter. */
  random: () => number;
  sleep: (ms: number) => Promise<void>;
}

/** An attempt with less time than this left is not started: it could only time out. */
const MIN_ATTEMPT_MS = 20;

/**
 * Routes one request through an endpoint's served entities: the first choice by traffic weight
 * (sticky per request id), then its fallbacks in order. Throttling, 5xx, timeouts and connection
 * failures are retried on the same entity with full-jitter backoff (timeouts and a provider's
 * refusal of our call are not: they fall back at once), then fall back to the next entity; a
 * model's own 4xx and a malformed answer are returned at once and never retried. Nothing starts after `deadline` (monotonic ms); each attempt is cut at the entity's
 * timeout or the deadline, whichever comes first. Entities whose circuit is open are skipped.
 * Never throws: the result says which entity answered or why none did.
 */
export async function routeRequest<T>(
  endpoint: ServingEndpoint,
  requestId: string,
  deadline: number,
  call: (entity: ServedEntity, signal: AbortSignal) => Promise<T>,
  deps: RouteDeps,
): Promise<RouteResult<T>> {
  const attempts: RouteAttempt[] = [];
  const { routing } = endpoint;
  const policy = { failures: routing.breakerFailures, cooldownMs: routing.breakerCooldownMs };
  let lastError: AppError | undefined;
  let lastEntity: ServedEntity | undefined;

  for (const entity of routePlan(endpoint, requestId)) {
    const breaker = deps.breakers.for(endpoint.name, entity.name, policy);
    for (let retry = 0; retry <= routing.retries; retry += 1) {
      const startedAt = deps.now();
      const remaining = deadline - startedAt;
      if (remaining < MIN_ATTEMPT_MS) {
        return failure(deadlineError(endpoint, lastError), lastEntity, attempts);
      }
      const ticket = breaker.tryAcquire(startedAt);
      if (ticket === undefined) {
        attempts.push({ entity: entity.name, outcome: 'CIRCUIT_OPEN', latencyMs: 0 });
        lastError ??= circuitOpenError(endpoint);
        break;
      }
      lastEntity = entity;
      // A timer of our own rather than AbortSignal.timeout, so that it is cleared as soon as the
      // attempt ends instead of firing later for every request (a measurable cost under load).
      const attempt = new AbortController();
      const timer = setTimeout(
        () => attempt.abort(new DOMException('The attempt ran out of time', 'TimeoutError')),
        Math.min(entity.timeoutMs ?? Number.POSITIVE_INFINITY, remaining),
      );
      const signal = attempt.signal;
      try {
        const value = await call(entity, signal);
        breaker.recordSuccess(ticket);
        attempts.push({ entity: entity.name, outcome: 'ok', latencyMs: deps.now() - startedAt });
        return { ok: true, value, entity, attempts };
      } catch (thrown) {
        const error = toAppError(thrown);
        attempts.push({ entity: entity.name, outcome: error.code, latencyMs: deps.now() - startedAt });
        if (!isRetriable(error)) {
          breaker.recordNeutral(ticket);
          return failure(error, entity, attempts);
        }
        breaker.recordFailure(ticket, deps.now());
        lastError = error;
        if (!worthRetryingHere(error) || retry === routing.retries || asksToWaitPast(error, deadline, deps.now())) break;
        const delay = deps.random() * routing.backoffMs * 2 ** retry;
        if (deps.now() + delay + MIN_ATTEMPT_MS > deadline) break;
        await deps.sleep(delay);
      } finally {
        clearTimeout(timer);
      }
    }
  }
  return failure(lastError ?? circuitOpenError(endpoint), lastEntity, attempts);
}

/** The entities to try, in order: the weighted first choice, then its fallbacks. */
export function routePlan(endpoint: ServingEndpoint, requestId: string): ServedEntity[] {
  const first = pickServedEntity(endpoint, requestId);
  const plan = [first];
  for (const name of first.fallbacks) {
    const fallback = endpoint.servedEntities.find((entity) => entity.name === name);
    if (fallback !== undefined && !plan.includes(fallback)) plan.push(fallback);
  }
  return plan;
}

/**
 * Failures another try (here or elsewhere) may cure: throttling, 5xx, timeouts, connection loss.
 * Not a malformed answer (a prediction of NaN, a body off the protocol): the model did the work,
 * another call would pay for it again and most likely answer the same, and since it says nothing
 * about the entity being up, one caller's input must not open the circuit for everyone.
 */
export function isRetriable(error: AppError): boolean {
  if (error instanceof BadGatewayError) return error.code !== 'BAD_BACKEND_RESPONSE';
  return error instanceof ServiceUnavailableError || error instanceof GatewayTimeoutError;
}

/**
 * Whether the same entity may answer if asked again: not after a timeout (it is slow now), nor
 * when its provider refused our call (our key, quota or configuration: every call would be
 * refused alike). Both still fall back to the next entity, and count on the breaker.
 */
function worthRetryingHere(error: AppError): boolean {
  return !(error instanceof GatewayTimeoutError) && error.code !== 'BACKEND_REFUSED';
}

/** A backend that asks not to be called again before the deadline (`retry-after`, in seconds) will not answer in time here. */
function asksToWaitPast(error: AppError, deadline: number, now: number): boolean {
  const seconds = Number(error.headers['retry-after']);
  return Number.isFinite(seconds) && now + seconds * 1000 > deadline;
}

function failure<T>(error: AppError, entity: ServedEntity | undefined, attempts: RouteAttempt[]): RouteResult<T> {
  return { ok: false, error, entity, attempts };
}

function deadlineError(endpoint: ServingEndpoint, cause: AppError | undefined): AppError {
  return new GatewayTimeoutError(`Endpoint ${endpoint.name} found no answer within its ${endpoint.timeoutMs} ms deadline`, { cause });
}

function circuitOpenError(endpoint: ServingEndpoint): AppError {
  return new ServiceUnavailableError('BACKEND_UNAVAILABLE', `Every served entity of ${endpoint.name} is failing; retry later`, {
    headers: { 'retry-after': String(Math.ceil(endpoint.routing.breakerCooldownMs / 1000)) },
  });
}
