import { flagContent } from '../guardrails';
import type { Principal } from '../api-key';
import { hashApiKey } from '../api-key';
import { authenticate } from '../authenticate';
import { sha256Hex } from '../audit-log/sha256';
import { defaultAuditPolicy } from '../audit-policy';
import { buildAuditRecord, type AuditRecord } from '../audit-record';
import type { EndpointRegistry } from '../endpoint-registry';
import type { ServingEndpoint } from '../endpoint-config';
import { AppError, ConflictError, InternalError, InvalidRequestError, ServiceUnavailableError, toAppError } from '../errors';
import { errorResponse } from '../error-response';
import { handOffRecords } from '../hand-off-records';
import { resolveInvocation } from '../invocation-input';
import { parseModelInput, wantsStream } from '../model-call';
import { redactAuditRecord } from '../redact-audit-record';
import { usageEventFor } from '../usage-event';
import type { AsyncRequestQueue } from '../../ports/async-request-queue';
import type { AuditSink } from '../../ports/audit-sink';
import type { Clock } from '../../ports/clock';
import type { JobStore } from '../../ports/job-store';
import type { KeyStore } from '../../ports/key-store';
import type { ObjectStore } from '../../ports/object-store';
import type { UsageSink } from '../../ports/usage-sink';
import { inlineMessageText, referenceMessageText, requestBodyKey } from './async-request-message';
import { visibleStatus, type AsyncRequest } from './async-request';

/** A `POST /serving-endpoints/{name}/async-invocations` as the HTTP edge hands it over. */
export interface AsyncSubmissionRequest {
  requestId: string;
  receivedAt: Date;
  startedAt: number;
  endpointName: string | undefined;
  authorization: string | undefined;
  contentType: string | undefined;
  body: Uint8Array;
  clientIp: string | undefined;
  userAgent: string | undefined;
  /** The `Idempotency-Key` header, when sent. */
  idempotencyKey: string | undefined;
  /** Where `GET /requests/{id}` lives for this caller, e.g. `https://api.example.com/prod`. */
  apiBaseUrl: string;
}

export interface AsyncSettings {
  /** How long an idempotency key keeps standing for its first request (seconds). */
  idempotencyWindowSeconds: number;
  /** How long a request and its result are kept (days): DynamoDB TTL and the bucket's lifecycle. */
  retentionDays: number;
  /** Bodies whose message would be larger go to S3 first (claim check). */
  maxInlineMessageBytes?: number;
}

export interface AsyncSubmissionDeps {
  endpoints: EndpointRegistry;
  keys: KeyStore;
  jobs: JobStore;
  queue: AsyncRequestQueue;
  /** The async bucket: bodies sent by reference, results. */
  objects: ObjectStore;
  audit: AuditSink;
  usage: UsageSink;
  clock: Clock;
  settings: AsyncSettings;
  /** Mints a request id of the gateway's own: for the record of a refusal whose request may still run. */
  newRequestId: () => string;
}

export interface AsyncSubmissionOutcome {
  statusCode: number;
  headers: Record<string, string>;
  body: Uint8Array;
  /** The request id the answer is about: the new one, or the original on an idempotent replay. */
  requestId: string;
  /** Set on a refusal: its audit record (kind `async-submission`), for the log. */
  audit?: AuditRecord;
  error?: AppError;
  /** Set when a refusal's audit record or usage event could not be handed off. */
  handoffError?: unknown;
  /** Set when the answer repeats an earlier submission with the same idempotency key. */
  replayed?: boolean;
}

/** Idempotency keys: what Stripe and the IETF draft allow, printable ASCII without spaces at the ends. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]([\x20-\x7e]{0,253}[\x21-\x7e])?$/;
/** A reservation whose submission shows no request after this long was interrupted: it may be taken over. */
const STALE_RESERVATION_MS = 30_000;
const encoder = new TextEncoder();

/**
 * Accepts one asynchronous invocation: the same checks as the synchronous path (key, endpoint,
 * grant, size, body against the task) refuse a bad request here, at submission, with the same
 * statuses; `stream: true` is refused (400), there is no one to stream to. An accepted request
 * is stored (`queued`), its body travels in the queue message or, when too large, in the async
 * bucket (claim check), and the answer is `202 {request_id, status, status_url}`.
 *
 * `Idempotency-Key`: the same key (per tenant) with the same endpoint and body within the window
 * answers the original request id again; with anything else it is a 409.
 *
 * Refusals are audited (kind `async-submission`) and counted like synchronous ones. An accepted
 * request gets its one audit record and usage event when it ends, from the worker. Never throws.
 */
export async function serveAsyncSubmission(request: AsyncSubmissionRequest, deps: AsyncSubmissionDeps): Promise<AsyncSubmissionOutcome> {
  const facts: { principal?: Principal; endpoint?: ServingEndpoint; json?: unknown } = {};
  try {
    facts.principal = await authenticate(request.authorization, deps.keys);
    const { endpoint, json } = resolveInvocation(
      { surface: 'invocations', endpointName: request.endpointName, contentType: request.contentType, body: request.body },
      deps.endpoints,
      facts.principal,
      // A refusal of the endpoint named is recorded with its audit policy (redaction) applied.
      { found: (found) => (facts.endpoint = found) },
    );
    facts.json = json;
    const input = parseModelInput(endpoint, request.body, json);
    if (wantsStream(input)) {
      throw new InvalidRequestError('stream: not supported for asynchronous invocations; the answer is stored, fetch it from GET /requests/{id}');
    }
    const idempotencyKey = request.idempotencyKey;
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw new InvalidRequestError('Idempotency-Key: must be 1-255 printable ASCII characters, not starting or ending with a space');
    }
    return await accept(request, deps, facts.principal, endpoint, JSON.stringify(json), idempotencyKey);
  } catch (thrown) {
    return refuse(request, deps, facts, toAppError(thrown));
  }
}

async function accept(
  request: AsyncSubmissionRequest,
  deps: AsyncSubmissionDeps,
  principal: Principal,
  endpoint: ServingEndpoint,
  bodyText: string,
  idempotencyKey: string | undefined,
): Promise<AsyncSubmissionOutcome> {
  const now = deps.clock.now();
  const bodySha256 = sha256Hex(bodyText);
  if (idempotencyKey !== undefined) {
    const reservation = {
      tenant: principal.tenant,
      key: idempotencyKey,
      requestId: request.requestId,
      endpoint: endpoint.name,
      bodySha256,
      createdAt: now.toISOString(),
      expiresAt: Math.floor(now.getTime() / 1000) + deps.settings.idempotencyWindowSeconds,
    };
    const reserved = await deps.jobs.reserveKey(reservation, now);
    if (!reserved.reserved) {
      const { existing } = reserved;
      if (existing.endpoint !== endpoint.name || existing.bodySha256 !== bodySha256) {
        // Not naming the request: it may be another key's, to an endpoint this one is not granted.
        throw new ConflictError('IDEMPOTENCY_KEY_REUSED', `Idempotency-Key ${idempotencyKey} was used for a different request; use a new key`);
      }
      const original = await deps.jobs.get(existing.requestId);
      if (original !== undefined && !neverQueued(original)) {
        if (mayNeverHaveBeenQueued(original, now) && (await deps.jobs.markRequeued(original.requestId, original.version, now))) {
          try {
            await requeue(original, bodyText, bodySha256, deps);
          } catch (error) {
            // Not sent: the turn goes back (its old time restored), so the caller's retry sends.
            await deps.jobs.markRequeued(original.requestId, original.version + 1, new Date(original.updatedAt)).catch(() => false);
            throw error;
          }
        }
        return accepted(request, original.requestId, visibleStatus(original), true);
      }
      // The first submission with this key stopped before storing its request, or failed before
      // queueing it (marked failed after its 503 was sent under another id): take the key over.
      const stale = original !== undefined || now.getTime() - new Date(existing.createdAt).getTime() > STALE_RESERVATION_MS;
      if (!stale || !(await deps.jobs.takeOverKey(reservation, existing.requestId))) {
        throw new ConflictError('IDEMPOTENCY_KEY_IN_USE', `A request with Idempotency-Key ${idempotencyKey} is being submitted; retry shortly`, {
          headers: { 'retry-after': '1' },
        });
      }
    }
  }

  try {
    await store(request, deps, principal, endpoint, bodyText, bodySha256, idempotencyKey, now);
  } catch (error) {
    // Not accepted: the key is free again for the caller's retry. Unless the request may still run:
    // then the key keeps pointing at it, and a retry with it answers for that request (sending its
    // message again if it is never delivered).
    if (idempotencyKey !== undefined && !(error instanceof UndecidedSubmissionError)) {
      await deps.jobs.releaseKey(principal.tenant, idempotencyKey, request.requestId).catch(() => undefined);
    }
    throw error;
  }
  return accepted(request, request.requestId, 'queued', false);
}

/** Stores the request (and its body, when too large for a message), then queues its message. */
async function store(
  request: AsyncSubmissionRequest,
  deps: AsyncSubmissionDeps,
  principal: Principal,
  endpoint: ServingEndpoint,
  bodyText: string,
  bodySha256: string,
  idempotencyKey: string | undefined,
  now: Date,
): Promise<void> {
  const head = { requestId: request.requestId, tenant: principal.tenant, endpoint: endpoint.name };
  const { message, stored } = await messageFor(head, bodyText, bodySha256, deps);
  const bodyBytes = Buffer.byteLength(bodyText);
  const job: AsyncRequest = {
    requestId: request.requestId,
    tenant: principal.tenant,
    keyId: principal.keyId,
    keyHash: keyHashOf(request.authorization),
    endpoint: endpoint.name,
    origin: 'http',
    status: 'queued',
    submittedAt: request.receivedAt.toISOString(),
    startedAt: null,
    finishedAt: null,
    updatedAt: now.toISOString(),
    body: { sha256: bodySha256, bytes: bodyBytes, stored },
    idempotencyKey: idempotencyKey ?? null,
    client: { ip: request.clientIp ?? null, userAgent: request.userAgent ?? null },
    deliveries: 0,
    attempts: [],
    lastError: null,
    outcome: null,
    handoff: { audit: false, usage: false },
    lease: null,
    version: 0,
    expiresAt: Math.floor(now.getTime() / 1000) + deps.settings.retentionDays * 86_400,
  };
  const created = await deps.jobs.create(job);
  if (!created.created) throw new InternalError(`request id ${request.requestId} is already taken`);
  try {
    await deps.queue.send(message, head);
  } catch (cause) {
    // Not queued: the caller is told so (503) and may retry, with the same key if it sent one.
    // A send can fail on our side after SQS stored the message: if a worker has taken the request
    // already, it was queued, and it is accepted like any other.
    let failed: boolean;
    try {
      failed = await deps.jobs.failSubmission(request.requestId, { code: 'QUEUE_UNAVAILABLE', message: 'The request could not be queued' }, deps.clock.now());
    } catch {
      // Neither queued for sure nor failed for sure: the request may still run, under its own id.
      throw new UndecidedSubmissionError(request.requestId, cause);
    }
    if (!failed) return;
    throw queueUnavailable(cause);
  }
}

/**
 * A submission whose send failed and whose request could not be marked failed either: SQS may have
 * stored the message, so the request may still run (audited and billed under its id). The caller
 * gets the 503, and its record another id, or the archive would drop the run's record as a
 * duplicate of the refusal's.
 */
class UndecidedSubmissionError extends ServiceUnavailableError {
  constructor(readonly queuedAs: string, cause: unknown) {
    super('QUEUE_UNAVAILABLE', `The request could not be queued for sure; retry (it may still run as ${queuedAs}: GET /requests/${queuedAs} tells)`, {
      cause,
      headers: { 'retry-after': '1' },
    });
  }
}

function queueUnavailable(cause: unknown): ServiceUnavailableError {
  return new ServiceUnavailableError('QUEUE_UNAVAILABLE', 'The request could not be queued; retry', { cause, headers: { 'retry-after': '1' } });
}

/** The request's queue message: the body inline, or stored in the bucket first and referenced (claim check). */
async function messageFor(
  head: { requestId: string; tenant: string; endpoint: string },
  bodyText: string,
  bodySha256: string,
  deps: AsyncSubmissionDeps,
): Promise<{ message: string; stored: boolean }> {
  const inline = inlineMessageText(head, bodyText, deps.settings.maxInlineMessageBytes);
  if (inline !== undefined) return { message: inline, stored: false };
  // Create-only, as the bucket policy demands of every put there: a replay sending the message again
  // finds the body it stored before (the worker checks it against the message's SHA-256 anyway).
  await deps.objects.put(requestBodyKey(head.requestId), encoder.encode(bodyText), { contentType: 'application/json', ifNoneMatch: true });
  return { message: referenceMessageText(head, { sha256: bodySha256, bytes: Buffer.byteLength(bodyText) }), stored: true };
}

/** How long after a replay sent a request's message again the next replay may send it once more. */
const REQUEUE_AFTER_MS = 60_000;

/**
 * Whether a request may have been stored without its message: still waiting for its first
 * delivery (the submitting function can stop between the two, or its send can fail in a way that
 * leaves it unknown whether SQS stored the message; the caller's retry with the same key then
 * finds it). The first replay sends the message again at once, later ones at most once a minute
 * (`markRequeued` takes the turn, and bumps the version). A queue that is merely behind looks the
 * same; sending again is harmless, as the worker's claim runs a request once.
 */
function mayNeverHaveBeenQueued(original: AsyncRequest, now: Date): boolean {
  if (original.status !== 'queued' || original.deliveries !== 0) return false;
  return original.version === 0 || now.getTime() - Date.parse(original.updatedAt) > REQUEUE_AFTER_MS;
}

/** A request whose submission failed before its message was surely queued (its retry starts anew). */
function neverQueued(original: AsyncRequest): boolean {
  return original.status === 'failed' && original.deliveries === 0 && original.outcome?.error?.code === 'QUEUE_UNAVAILABLE';
}

async function requeue(original: AsyncRequest, bodyText: string, bodySha256: string, deps: AsyncSubmissionDeps): Promise<void> {
  const head = { requestId: original.requestId, tenant: original.tenant, endpoint: original.endpoint };
  const { message } = await messageFor(head, bodyText, bodySha256, deps);
  try {
    await deps.queue.send(message, head);
  } catch (cause) {
    throw queueUnavailable(cause);
  }
}

function accepted(request: AsyncSubmissionRequest, requestId: string, status: string, replayed: boolean): AsyncSubmissionOutcome {
  const statusUrl = `${request.apiBaseUrl}/requests/${requestId}`;
  const headers: Record<string, string> = { 'content-type': 'application/json', location: statusUrl };
  if (replayed) headers['idempotent-replayed'] = 'true';
  return {
    statusCode: 202,
    headers,
    body: encoder.encode(JSON.stringify({ request_id: requestId, status, status_url: statusUrl })),
    requestId,
    ...(replayed ? { replayed } : {}),
  };
}

/** The key's hash, so the worker can check the key is still active when the request runs. */
function keyHashOf(authorization: string | undefined): string | null {
  const key = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
  return key === undefined ? null : hashApiKey(key);
}

/** A refusal: audited (kind `async-submission`) and counted like a synchronous one, then answered. */
async function refuse(
  request: AsyncSubmissionRequest,
  deps: AsyncSubmissionDeps,
  facts: { principal?: Principal; endpoint?: ServingEndpoint; json?: unknown },
  error: AppError,
): Promise<AsyncSubmissionOutcome> {
  // The refusal of a request that may still run is its own exchange, under its own id.
  const requestId = error instanceof UndecidedSubmissionError ? deps.newRequestId() : request.requestId;
  const response = errorResponse(error, requestId);
  const auditPolicy = facts.endpoint?.audit ?? defaultAuditPolicy();
  const audit = redactAuditRecord(
    buildAuditRecord({
      kind: 'async-submission',
      requestId,
      receivedAt: request.receivedAt,
      endpointName: facts.endpoint?.name ?? request.endpointName ?? '',
      principal: facts.principal,
      servedEntity: undefined,
      status: response.statusCode,
      error: { code: error.code, message: error.expose ? error.message : 'Internal error' },
      latencyMs: deps.clock.monotonic() - request.startedAt,
      backendLatencyMs: undefined,
      clientIp: request.clientIp,
      userAgent: request.userAgent,
      requestBody: request.body,
      requestJson: facts.json,
      responseBody: response.body,
      responseJson: response.payload,
    }),
    auditPolicy,
  );
  const usage = usageEventFor(audit, { units: undefined, requestBytes: request.body.byteLength, responseBytes: response.body.byteLength }, { endpoint: facts.endpoint?.name });
  // What the abuse rules count, as on the synchronous path: who called (a 401 has no key), and what the prompt matched.
  const counted = { ...usage, async: true as const, clientIp: request.clientIp ?? null, contentFlags: flagContent(facts.endpoint?.guardrails, facts.json) };
  const handoff = await handOffRecords(deps, audit, counted, { auditRequired: auditPolicy.required, answerAlreadyGiven: false });
  return {
    statusCode: response.statusCode,
    headers: { ...response.headers, 'content-type': 'application/json' },
    body: response.body,
    requestId,
    audit,
    error,
    ...(handoff.error !== undefined ? { handoffError: handoff.error } : {}),
  };
}
