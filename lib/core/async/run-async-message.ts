import type { Principal } from '../api-key';
import { assertKeyUsable, authorizeInvocation } from '../authenticate';
import type { AuditRecord } from '../audit-record';
import { sha256Hex } from '../audit-log/sha256';
import { requestIdTime } from '../audit-log/layout';
import { defaultAuditPolicy } from '../audit-policy';
import type { EndpointRegistry } from '../endpoint-registry';
import type { ServingEndpoint } from '../endpoint-config';
import {
  AppError,
  InternalError,
  InvalidRequestError,
  NotFoundError,
  PayloadTooLargeError,
  RateLimitedError,
  UnauthenticatedError,
  toAppError,
} from '../errors';
import type { Admission, AdmissionOutcome, RequestLimiter } from '../limits/request-limiter';
import { parseJsonBody } from '../invocation-input';
import { invokeEndpoint, type EndpointCallDeps } from '../invoke-endpoint';
import { parseModelInput, wantsStream, type ModelInput } from '../model-call';
import { isRetriable, type RouteAttempt } from '../route-request';
import type { UsageEvent } from '../usage-event';
import type { AsyncRequestQueue } from '../../ports/async-request-queue';
import type { AuditSink } from '../../ports/audit-sink';
import type { JobStore } from '../../ports/job-store';
import type { KeyStore } from '../../ports/key-store';
import type { ObjectStore } from '../../ports/object-store';
import type { UsageSink } from '../../ports/usage-sink';
import { ExpiredMessageError, oldestRunnableHours, parseAsyncRequestMessage, requestBodyKey, resultKey, UnreadableMessageError, type AsyncRequestMessage } from './async-request-message';
import { isProducerRequestId } from '../request-id-space';
import { isSettled, MAX_KEPT_ATTEMPTS, type AsyncOutcome, type AsyncRequest, type AsyncRequestLease } from './async-request';
import { asyncExecutionRecords } from './async-records';
import { authorizeQueueProducer } from './queue-producers';
import { retryDelaySeconds, type RetryPolicy } from './retry-delay';

/** One received message of the async request queue, as the event source hands it over. */
export interface QueuedMessage {
  messageId: string;
  receiptHandle: string;
  body: string;
  /** SQS's ApproximateReceiveCount: 1 on the first delivery. */
  receiveCount: number;
  /** SQS's SenderId: the IAM principal that sent the message. */
  senderId: string | undefined;
}

export interface AsyncWorkerDeps extends EndpointCallDeps {
  endpoints: EndpointRegistry;
  keys: KeyStore;
  jobs: JobStore;
  queue: AsyncRequestQueue;
  /** The async bucket: bodies sent by reference, results. */
  objects: ObjectStore;
  audit: AuditSink;
  usage: UsageSink;
  retry: RetryPolicy;
  /** How long a lease lasts (ms): longer than the function runs, shorter than the queue's visibility timeout. */
  leaseMs: number;
  /** How long a request created from a producer's message is kept (days). */
  retentionDays: number;
  /** The synchronous path's rate limits and budgets, applied where the model is called; absent: nothing is limited. */
  limits?: RequestLimiter;
}

/** What became of a message, which decides whether the event source deletes it. */
export type MessageDisposition = (
  /** The request ended (succeeded or failed) and is settled: delete the message. */
  | {
      kind: 'finished';
      requestId: string;
      status: 'succeeded' | 'failed';
      statusCode: number;
      errorCode?: string;
    }
  /** Another delivery has the request, or it was already settled: delete this duplicate. */
  | { kind: 'duplicate'; requestId: string; reason: 'busy' | 'settled' }
  /** Keep it: back on the queue after `delaySeconds` (transient failure, or a per-minute limit reached). */
  | { kind: 'retry'; requestId: string | undefined; delaySeconds: number; error: unknown }
  /** Keep it: its deliveries are used up, SQS moves it to the DLQ at its next receive. */
  | { kind: 'dead-letter'; requestId: string | undefined; error: unknown; markedFailed: boolean }
  /**
   * Delete it: the request ended but its hand-off failed on every delivery, so a fresh copy of the
   * message goes round again after `delaySeconds` rather than into the DLQ.
   */
  | { kind: 'sent-again'; requestId: string; delaySeconds: number; error: unknown }
) & {
  /** Set when the delivery's rate-limit reservation could not be settled (it then stays held until its window ends: the safe side). */
  limitsSettleError?: unknown;
  /** Set when the request settled without its audit record, which its endpoint does not require. */
  auditHandoffError?: unknown;
};

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** How long past a delivery's lease the copy of a request whose hand-off is still owed comes back. */
const HANDOFF_RETRY_MARGIN_SECONDS = 180;

/**
 * Runs one delivery of one async request message, exactly as the synchronous path runs a request
 * (same checks, same limits and budget, same routing with retries, fallbacks and breakers inside
 * the endpoint's deadline), with the guarantees a queue needs:
 *
 * - **One model call per request, whatever the duplicates.** The delivery first takes the
 *   request's lease with a conditional write; a duplicate delivery finding a live lease, or a
 *   settled request, is acknowledged without calling anything.
 * - **One audit record and one usage event per request.** The result is stored and the terminal
 *   state committed before either is handed off; each hand-off is recorded, and a later delivery
 *   finding an ended but unsettled request (its predecessor crashed) hands off only what is
 *   missing, rebuilt from what was stored.
 * - **Transient failures** (throttling, 5xx, timeouts, an open circuit, anything unexpected) give
 *   the request back (`queued`, with the error) and the message back to the queue after a growing
 *   backoff. **On the last delivery** (`maxReceiveCount`) the request is marked `failed` with the
 *   reason, audited, and the message left for SQS to move to the DLQ.
 * - **A per-minute limit reached** gives the request back the same way, until the limit's window
 *   ends; on the last delivery it fails with the 429.
 * - **A model's or the caller's own mistake** (4xx: refused key, grant, body, a spent budget) fails the request at once.
 *
 * Never throws: the disposition says what to do with the message.
 */
export async function runAsyncMessage(message: QueuedMessage, deps: AsyncWorkerDeps): Promise<MessageDisposition> {
  const progress: Progress = { committed: false };
  const disposition = await runDelivery(message, deps, progress);
  // However the delivery ends, a record settled away (its endpoint does not require one) is told.
  return progress.auditHandoffError === undefined ? disposition : { ...disposition, auditHandoffError: progress.auditHandoffError };
}

async function runDelivery(message: QueuedMessage, deps: AsyncWorkerDeps, progress: Progress): Promise<MessageDisposition> {
  const now = deps.clock.now();
  const lastDelivery = message.receiveCount >= deps.retry.maxReceiveCount;
  let parsed: AsyncRequestMessage | undefined;
  let expired: ExpiredMessageError | undefined;
  let lease: AsyncRequestLease | undefined;
  let claimed: AsyncRequest | undefined;
  try {
    try {
      parsed = parseAsyncRequestMessage(message.body, now, deps.retentionDays);
    } catch (error) {
      if (!(error instanceof ExpiredMessageError)) throw error;
      // Too old to run, but claimed like any other: a duplicate is acknowledged, a waiting request ended.
      parsed = error.request;
      expired = error;
    }
    lease = leaseOf(message, now, deps.leaseMs);
    const expected = submissionOf(parsed);
    let claim = await deps.jobs.claim(parsed.requestId, expected, lease, now);
    // Never started: the job store may have forgotten a request this message already ran.
    if (claim.outcome === 'missing' && expired !== undefined) throw expired;
    if (claim.outcome === 'missing') {
      // A producer's message, straight onto the queue: the request starts existing here, under an
      // id only a producer mints (never one the gateway gave a request already audited and billed).
      if (!isProducerRequestId(parsed.requestId)) {
        throw new UnreadableMessageError(`request ${parsed.requestId} is not known, and a producer's request id must start its fourth group with a or b`);
      }
      await deps.jobs.create(requestFromProducer(parsed, expected.bodySha256, message, now, deps.retentionDays));
      claim = await deps.jobs.claim(parsed.requestId, expected, lease, now);
    }
    if (claim.outcome === 'busy' || claim.outcome === 'settled') {
      return { kind: 'duplicate', requestId: parsed.requestId, reason: claim.outcome };
    }
    if (claim.outcome === 'mismatch') {
      throw new UnreadableMessageError(`request id ${parsed.requestId} belongs to another submission (tenant, endpoint or body differ)`);
    }
    if (claim.outcome === 'missing') throw new Error(`request ${parsed.requestId} vanished while being claimed`);
    if (claim.request.outcome !== null) return await settleEnded(parsed, claim.request, lease, deps, progress);
    // Left out of `claimed`: a last delivery that cannot end it dead-letters the message, rather
    // than failing the request with another reason than its expiry.
    if (expired !== undefined) return await endExpired(parsed, claim.request, lease, deps, progress);
    claimed = claim.request;
    const body = await loadBody(parsed, claimed, deps.objects);
    return await execute(parsed, message, claimed, lease, body, lastDelivery, { ...deps, progress });
  } catch (thrown) {
    const requestId = parsed?.requestId;
    // (A request that already ended keeps its outcome: the store refuses a second one.)
    if (lastDelivery && claimed !== undefined && lease !== undefined && claimed.outcome === null && !progress.committed) {
      // Unexpected failures on every delivery: this request is poison. Record why, then dead-letter.
      try {
        // A body that cannot be read is often why it failed: the failure is recorded without it.
        const body = await loadBodyOrStandIn(parsed!, claimed, deps.objects);
        const reason = failureReason(toAppError(thrown), message.receiveCount);
        await finishAndSettle(claimed, lease, body, { ok: false, error: reason.error, statusCode: reason.statusCode, attempts: claimed.attempts }, { ...deps, progress });
        return await deadLetter(message, deps, requestId, thrown, true);
      } catch {
        // Could not even record the failure: the message still goes to the DLQ, the request waits there for a redrive.
      }
    }
    if (lastDelivery && parsed !== undefined && (progress.committed || claimed?.outcome != null)) {
      // The request ended and its outcome is kept; only the hand-off failed, on every delivery (an
      // audit queue or KMS outage of a few minutes). In the DLQ it would show as running until
      // someone redrove it, so it goes round again as a fresh message, after this delivery's lease.
      // SQS delays a message at most 900 s; ASYNC_LEASE_SECONDS is at most 720, so this outlasts the lease.
      const delaySeconds = Math.min(900, Math.ceil(deps.leaseMs / 1000) + HANDOFF_RETRY_MARGIN_SECONDS);
      const head = { requestId: parsed.requestId, tenant: parsed.tenant, endpoint: parsed.endpoint };
      const sent = await deps.queue.send(message.body, head, { delaySeconds }).then(() => true, () => false);
      if (sent) return { kind: 'sent-again', requestId: parsed.requestId, delaySeconds, error: thrown };
    }
    if (lastDelivery) return deadLetter(message, deps, requestId, thrown, false);
    const delaySeconds = retryDelaySeconds(message.receiveCount, deps.retry, deps.random ?? Math.random);
    await deps.queue.retryLater(message.receiptHandle, delaySeconds).catch(() => undefined);
    return { kind: 'retry', requestId, delaySeconds, error: thrown };
  }
}

/**
 * A request still waiting when its message comes back too late to run (a DLQ redriven after the
 * window): ended failed, `REQUEST_EXPIRED`, audited and billed as nothing, instead of going back to
 * the DLQ and waiting until the job store forgets it.
 */
async function endExpired(parsed: AsyncRequestMessage, request: AsyncRequest, lease: AsyncRequestLease, deps: AsyncWorkerDeps, progress: Progress): Promise<MessageDisposition> {
  const body = await loadBodyOrStandIn(parsed, request, deps.objects);
  const error = { code: 'REQUEST_EXPIRED', message: `Not run: its message came back after the ${oldestRunnableHours(deps.retentionDays)} hours a request may wait` };
  await finishAndSettle(request, lease, body, { ok: false, error, statusCode: 504, attempts: request.attempts }, { ...deps, progress });
  return { kind: 'finished', requestId: parsed.requestId, status: 'failed', statusCode: 504, errorCode: error.code };
}

/** This delivery's lease on its request. */
function leaseOf(message: QueuedMessage, now: Date, leaseMs: number): AsyncRequestLease {
  return { messageId: message.messageId, receiveCount: message.receiveCount, until: now.getTime() + leaseMs };
}

/** What a message must match of the request it claims: who sent it, where, and the body's hash. */
function submissionOf(parsed: AsyncRequestMessage): { tenant: string; endpoint: string; bodySha256: string } {
  return { tenant: parsed.tenant, endpoint: parsed.endpoint, bodySha256: parsed.bodyRef?.sha256 ?? sha256Hex(JSON.stringify(parsed.body)) };
}

/**
 * A request ended by an earlier delivery that stopped before handing everything off: the hand-off
 * is finished, and needs no readable body (it may be why the request failed).
 */
async function settleEnded(parsed: AsyncRequestMessage, claimed: AsyncRequest, lease: AsyncRequestLease, deps: AsyncWorkerDeps, progress: Progress): Promise<MessageDisposition> {
  progress.committed = true;
  const body = await loadBodyOrStandIn(parsed, claimed, deps.objects);
  await settle(claimed, lease, body, undefined, { ...deps, progress });
  return finished(claimed);
}

/** The request a producer's message stands for, `queued`, before its first delivery claims it. */
function requestFromProducer(parsed: AsyncRequestMessage, bodySha256: string, message: QueuedMessage, now: Date, retentionDays: number): AsyncRequest {
  const submittedAt = requestIdTime(parsed.requestId)!;
  return {
    requestId: parsed.requestId,
    tenant: parsed.tenant,
    keyId: null,
    keyHash: null,
    endpoint: parsed.endpoint,
    origin: 'sqs',
    status: 'queued',
    submittedAt: submittedAt.toISOString(),
    startedAt: null,
    finishedAt: null,
    updatedAt: now.toISOString(),
    body: { sha256: bodySha256, bytes: parsed.bodyRef?.bytes ?? Buffer.byteLength(JSON.stringify(parsed.body)), stored: parsed.bodyRef !== undefined },
    idempotencyKey: null,
    client: { ip: null, userAgent: message.senderId === undefined ? 'sqs' : `sqs:${message.senderId}` },
    deliveries: 0,
    attempts: [],
    lastError: null,
    outcome: null,
    handoff: { audit: false, usage: false },
    lease: null,
    version: 0,
    expiresAt: Math.floor(now.getTime() / 1000) + retentionDays * 86_400,
  };
}

interface LoadedBody {
  bytes: Uint8Array;
  json: unknown;
}

/** A stored body that is gone or not the one submitted: no retry brings it back. */
class UnreadableBodyError extends Error {
  override name = 'UnreadableBodyError';
}

/** Stands in for a stored body that is missing or does not match its hash, so its request can still end. */
const UNREADABLE_BODY: LoadedBody = { bytes: new Uint8Array(0), json: undefined };

/** The body, or its stand-in when it can never be read; a passing failure (S3 slow or down) is thrown, to be retried. */
async function loadBodyOrStandIn(parsed: AsyncRequestMessage, request: AsyncRequest, objects: ObjectStore): Promise<LoadedBody> {
  try {
    return await loadBody(parsed, request, objects);
  } catch (error) {
    if (error instanceof UnreadableBodyError) return UNREADABLE_BODY;
    throw error;
  }
}

/** The request's body: from the message, or from the bucket (claim check), checked against its hash. */
async function loadBody(parsed: AsyncRequestMessage, request: AsyncRequest, objects: ObjectStore): Promise<LoadedBody> {
  if (parsed.bodyRef === undefined) {
    const text = JSON.stringify(parsed.body);
    return { bytes: encoder.encode(text), json: parsed.body };
  }
  const bytes = await objects.get(requestBodyKey(request.requestId));
  if (bytes === undefined) throw new UnreadableBodyError(`the body of request ${request.requestId} is not in the async bucket`);
  if (sha256Hex(bytes) !== parsed.bodyRef.sha256) throw new UnreadableBodyError(`the stored body of request ${request.requestId} does not match its SHA-256`);
  // A body that is not JSON, or nests too deep, is refused (400) where it is checked, like a synchronous one.
  let json: unknown;
  try {
    json = parseJsonBody(bytes);
  } catch {
    json = undefined;
  }
  return { bytes, json };
}

type Attempted =
  | { ok: true; body: Uint8Array; json: unknown; entity: string; units: AsyncOutcome['units']; backendLatencyMs: number; attempts: RouteAttempt[] }
  | { ok: false; error: { code: string; message: string }; statusCode: number; entity?: string; units?: AsyncOutcome['units']; backendLatencyMs?: number; attempts: RouteAttempt[] };

async function execute(
  parsed: AsyncRequestMessage,
  message: QueuedMessage,
  request: AsyncRequest,
  lease: AsyncRequestLease,
  body: LoadedBody,
  lastDelivery: boolean,
  deps: AsyncWorkerDeps & { progress: { committed: boolean } },
): Promise<MessageDisposition> {
  let checked: { endpoint: ServingEndpoint; input: ModelInput; principal: Principal };
  let admission: Admission | undefined;
  try {
    checked = await checkRequest(request, body, message.senderId, deps);
    // The synchronous path's limit step, taken where the model is called: queued work counts
    // against the same per-minute limits and budget as synchronous calls, on every delivery that
    // calls the model.
    if (deps.limits) admission = await deps.limits.admit({ ...checked, now: deps.clock.now() });
  } catch (thrown) {
    const error = toAppError(thrown);
    if (error.statusCode >= 500) throw thrown;
    if (error instanceof RateLimitedError && error.code === 'RATE_LIMITED') {
      // A per-minute limit: the request waits on the queue for the window to pass, while it has deliveries left.
      if (!lastDelivery) return putBack(message, request, lease, request.attempts, error, deps);
      const reason = failureReason(error, message.receiveCount);
      await finishAndSettle(request, lease, body, { ok: false, ...reason, attempts: request.attempts }, deps);
      return { kind: 'finished', requestId: request.requestId, status: 'failed', statusCode: error.statusCode, errorCode: error.code };
    }
    // A refusal (the key, the grant, the body, a spent budget): fails the request at once, like a synchronous 4xx.
    const attempted: Attempted = { ok: false, error: { code: error.code, message: error.message }, statusCode: error.statusCode, attempts: request.attempts };
    await finishAndSettle(request, lease, body, attempted, deps);
    return { kind: 'finished', requestId: request.requestId, status: 'failed', statusCode: error.statusCode, errorCode: error.code };
  }
  const { endpoint, input } = checked;
  const called = await invokeEndpoint(endpoint, input, request.requestId, deps.clock.monotonic() + endpoint.timeoutMs, deps);
  const attempts = [...request.attempts, ...called.attempts].slice(-MAX_KEPT_ATTEMPTS);
  const partialUnits = input.task === 'custom' ? ({ kind: 'rows', input: input.rows } as const) : undefined;
  // Settled before the outcome is committed: a later delivery that only hands off never admits, so never settles.
  const limitsSettleError = await settleLimits(
    admission,
    called.ok
      ? { status: 200, units: called.units, servedEntity: called.entity.name }
      : { status: called.error.statusCode, units: partialUnits, servedEntity: called.entity?.name ?? null },
    deps.limits,
  );
  const noted = limitsSettleError === undefined ? {} : { limitsSettleError };
  if (called.ok) {
    await finishAndSettle(request, lease, body, {
      ok: true,
      body: called.body,
      json: called.json,
      entity: called.entity.name,
      units: called.units,
      backendLatencyMs: called.backendLatencyMs,
      attempts,
    }, deps);
    return { kind: 'finished', requestId: request.requestId, status: 'succeeded', statusCode: 200, ...noted };
  }
  const partial = { entity: called.entity?.name, units: partialUnits, backendLatencyMs: called.backendLatencyMs, attempts };
  if (isTransient(called.error)) {
    if (!lastDelivery) return { ...(await putBack(message, request, lease, attempts, called.error, deps)), ...noted };
    const reason = failureReason(called.error, message.receiveCount);
    await finishAndSettle(request, lease, body, { ok: false, ...reason, ...partial }, deps);
    return { ...(await deadLetter(message, deps, request.requestId, called.error, true)), ...noted };
  }
  const error = called.error;
  await finishAndSettle(request, lease, body, { ok: false, error: { code: error.code, message: exposedMessage(error) }, statusCode: error.statusCode, ...partial }, deps);
  return { kind: 'finished', requestId: request.requestId, status: 'failed', statusCode: error.statusCode, errorCode: error.code, ...noted };
}

/** Gives the request back (`queued`, with the error) and its message back to the queue after a backoff. */
async function putBack(
  message: QueuedMessage,
  request: AsyncRequest,
  lease: AsyncRequestLease,
  attempts: RouteAttempt[],
  error: AppError,
  deps: AsyncWorkerDeps,
): Promise<MessageDisposition> {
  const lastError = { code: error.code, message: exposedMessage(error) };
  await deps.jobs.release(request.requestId, lease, { attempts, lastError, now: deps.clock.now() });
  // Never sooner than a limit's window or a backend's own retry-after.
  const delaySeconds = retryDelaySeconds(message.receiveCount, deps.retry, deps.random ?? Math.random, error);
  await deps.queue.retryLater(message.receiptHandle, delaySeconds).catch(() => undefined);
  return { kind: 'retry', requestId: request.requestId, delaySeconds, error };
}

/**
 * Replaces the delivery's reservation by what it used, as the synchronous path does. A failure is
 * returned, not thrown: the reservation then stays held until its window ends, the safe side.
 */
async function settleLimits(admission: Admission | undefined, outcome: AdmissionOutcome, limits: RequestLimiter | undefined): Promise<unknown> {
  if (admission === undefined || limits === undefined) return undefined;
  return limits.settle(admission, outcome).then(
    () => undefined,
    (error: unknown) => error ?? new Error('settle failed'),
  );
}

/**
 * The checks the synchronous path makes at the door, made again when the request runs: the
 * endpoint still exists, the submitting key is still active and granted (a suspension stops its
 * queued work too), a producer's tenant may use the endpoint through the queue, and the body fits
 * the endpoint's task and size.
 */
async function checkRequest(
  request: AsyncRequest,
  body: LoadedBody,
  senderId: string | undefined,
  deps: { endpoints: EndpointRegistry; keys: KeyStore; clock: { now(): Date } },
): Promise<{ endpoint: ServingEndpoint; input: ModelInput; principal: Principal }> {
  const endpoint = deps.endpoints.get(request.endpoint);
  if (endpoint === undefined) throw new NotFoundError(`No serving endpoint named ${request.endpoint}`);
  let principal: Principal;
  if (request.origin === 'http') {
    const record = request.keyHash === null ? undefined : await deps.keys.findByHash(request.keyHash);
    if (record === undefined) throw new UnauthenticatedError('The API key that submitted this request no longer exists');
    // Revoked, suspended, or rotated and past its grace period: queued work stops with the key.
    assertKeyUsable(record, deps.clock.now());
    principal = { keyId: record.keyId, tenant: record.tenant, roles: record.roles, endpoints: record.endpoints, limits: record.limits };
    authorizeInvocation(principal, endpoint);
  } else {
    authorizeQueueProducer(deps.endpoints.queueProducers(), request.tenant, endpoint.name, senderId);
    if (body.bytes.byteLength > endpoint.maxRequestBytes) {
      throw new PayloadTooLargeError(`Request body is ${body.bytes.byteLength} bytes; endpoint ${endpoint.name} accepts at most ${endpoint.maxRequestBytes}`);
    }
    // No API key: the endpoint's limits and the tenant's budget apply, and its per-key limits
    // count the tenant's queue producers as one caller.
    principal = { keyId: `queue:${request.tenant}`, tenant: request.tenant, roles: ['invoke'], endpoints: [endpoint.name] };
  }
  const json = body.json === undefined ? parseJsonBody(body.bytes) : body.json;
  const input = parseModelInput(endpoint, body.bytes, json);
  if (wantsStream(input)) throw new InvalidRequestError('stream: not supported for asynchronous invocations');
  return { endpoint, input, principal };
}

/** Failures another delivery may cure: those routing retries, and anything we did not anticipate. */
function isTransient(error: AppError): boolean {
  return isRetriable(error) || error instanceof InternalError;
}

function exposedMessage(error: AppError): string {
  return error.expose ? error.message : 'Internal error';
}

/** The reason a request is failed with once its deliveries are used up. */
function failureReason(error: AppError, deliveries: number): { error: { code: string; message: string }; statusCode: number } {
  return {
    error: { code: error.code, message: `Gave up after ${deliveries} deliveries; the last failed with: ${exposedMessage(error)}` },
    statusCode: error.statusCode,
  };
}

/** Stores the result, commits the terminal state under the lease, then hands off audit record and usage event. */
async function finishAndSettle(
  request: AsyncRequest,
  lease: AsyncRequestLease,
  body: LoadedBody,
  attempted: Attempted,
  deps: AsyncWorkerDeps & { progress: Progress },
): Promise<void> {
  const now = deps.clock.now();
  const resultBody = attempted.ok
    ? attempted.body
    : encoder.encode(JSON.stringify({ error: { ...attempted.error, request_id: request.requestId } }));
  await deps.objects.put(resultKey(request.requestId), resultBody, { contentType: 'application/json' });
  const endpoint = deps.endpoints.get(request.endpoint);
  const outcome: AsyncOutcome = {
    statusCode: attempted.ok ? 200 : attempted.statusCode,
    error: attempted.ok ? null : attempted.error,
    servedEntity: attempted.entity ?? null,
    units: attempted.units ?? null,
    backendLatencyMs: attempted.backendLatencyMs ?? null,
    resultBytes: resultBody.byteLength,
    auditRequired: (endpoint?.audit ?? defaultAuditPolicy()).required,
  };
  const status = attempted.ok ? 'succeeded' : 'failed';
  const startedAt = request.startedAt ?? now.toISOString();
  const committed = await deps.jobs.finish(request.requestId, lease, { status, outcome, attempts: attempted.attempts, startedAt, now });
  if (!committed) throw new Error(`request ${request.requestId}: the lease was lost before its outcome was committed`);
  deps.progress.committed = true;
  const ended: AsyncRequest = { ...request, status, outcome, attempts: attempted.attempts, startedAt, finishedAt: now.toISOString(), lastError: null };
  await settle(ended, lease, body, { bytes: resultBody, json: attempted.ok ? attempted.json : JSON.parse(decoder.decode(resultBody)) }, deps);
}

/**
 * Hands off what is missing of the audit record and usage event, and records it; the request is
 * settled (and its lease let go) once both are out (or the usage event, where the endpoint does not
 * require auditing). Throws while it is not, so the message comes back to finish the job.
 */
async function settle(
  request: AsyncRequest,
  lease: AsyncRequestLease,
  body: LoadedBody,
  result: { bytes: Uint8Array; json: unknown } | undefined,
  deps: AsyncWorkerDeps & { progress: Progress },
): Promise<void> {
  let resultBody = result?.bytes;
  if (resultBody === undefined) {
    resultBody = await deps.objects.get(resultKey(request.requestId));
    if (resultBody === undefined) throw new Error(`the result of request ${request.requestId} is not in the async bucket`);
  }
  const resultJson = result?.json ?? JSON.parse(decoder.decode(resultBody));
  const endpoint = deps.endpoints.get(request.endpoint);
  const { audit, usage } = asyncExecutionRecords(
    { request, requestBody: body.bytes, requestJson: body.json, resultBody, resultJson },
    endpoint?.audit ?? defaultAuditPolicy(),
    endpoint?.guardrails,
  );
  const { handoff, error } = await handOffMissing(request.handoff, audit, usage, deps);
  const settled = isSettled({ ...request, handoff });
  const changed = handoff.audit !== request.handoff.audit || handoff.usage !== request.handoff.usage;
  if (changed || settled) await deps.jobs.recordHandoff(request.requestId, lease, handoff, settled, deps.clock.now());
  if (!settled) throw new Error(`request ${request.requestId}: its audit record or usage event could not be handed off`, { cause: error });
  // Settled without its record (the endpoint does not require one): said, not swallowed.
  if (!handoff.audit) deps.progress.auditHandoffError = error;
}

/** What one delivery has done so far, for what its failure or its disposition must say. */
interface Progress {
  /** An outcome is committed: a later failure only concerns the hand-off. */
  committed: boolean;
  /** The request settled without its audit record (its endpoint does not require one). */
  auditHandoffError?: unknown;
}



/**
 * Sends what is not yet out: the audit record with the usage event riding along (one message, as
 * on the synchronous path), or whichever of the two an earlier delivery left behind. When the
 * record cannot be sent, the usage event still goes on its own: the result is kept and can be
 * fetched, so it is billed whatever becomes of the record.
 */
async function handOffMissing(
  done: AsyncRequest['handoff'],
  audit: AuditRecord,
  usage: UsageEvent,
  deps: AsyncWorkerDeps,
): Promise<{ handoff: AsyncRequest['handoff']; error?: unknown }> {
  const attempt = (send: Promise<void>) => send.then(() => undefined, (error: unknown) => error ?? new Error('hand-off failed'));
  if (!done.audit && !done.usage) {
    const error = await attempt(deps.audit.record(audit, usage));
    if (error === undefined) return { handoff: { audit: true, usage: true } };
    const usageError = await attempt(deps.usage.publish(usage));
    return { handoff: { audit: false, usage: usageError === undefined }, error };
  }
  const error = await attempt(done.audit ? deps.usage.publish(usage) : deps.audit.record(audit));
  return { handoff: error === undefined ? { audit: true, usage: true } : done, ...(error === undefined ? {} : { error }) };
}

function finished(request: AsyncRequest): MessageDisposition {
  const outcome = request.outcome!;
  return {
    kind: 'finished',
    requestId: request.requestId,
    status: request.status === 'succeeded' ? 'succeeded' : 'failed',
    statusCode: outcome.statusCode,
    ...(outcome.error ? { errorCode: outcome.error.code } : {}),
  };
}

/** Leaves the message to SQS's redrive: visible again at once, so its next receive moves it to the DLQ. */
async function deadLetter(message: QueuedMessage, deps: AsyncWorkerDeps, requestId: string | undefined, error: unknown, markedFailed: boolean): Promise<MessageDisposition> {
  await deps.queue.retryLater(message.receiptHandle, 0).catch(() => undefined);
  return { kind: 'dead-letter', requestId, error, markedFailed };
}
