import type { Principal } from './api-key';
import { authenticate, authorizeInvocation } from './authenticate';
import { buildAuditRecord, type AuditRecord } from './audit-record';
import { defaultAuditPolicy } from './audit-policy';
import type { EndpointRegistry } from './endpoint-registry';
import type { ServedEntity } from './endpoint-config';
import {
  AppError,
  InvalidRequestError,
  NotFoundError,
  PayloadTooLargeError,
  ServiceUnavailableError,
  UnsupportedMediaTypeError,
  toAppError,
} from './errors';
import { errorResponse } from './error-response';
import { pickServedEntity } from './pick-served-entity';
import { redactAuditRecord } from './redact-audit-record';
import { parsePredictionResponse } from './prediction-response';
import { parseScoringRequest } from './scoring-request';
import type { UsageEvent } from './usage-event';
import type { AuditSink } from '../ports/audit-sink';
import type { Clock } from '../ports/clock';
import type { KeyStore } from '../ports/key-store';
import type { BackendRegistry } from '../ports/model-backend';
import type { UsageSink } from '../ports/usage-sink';

/** A synchronous invocation as the HTTP edge hands it over: typed, but not yet trusted. */
export interface InvocationRequest {
  requestId: string;
  receivedAt: Date;
  /** `performance.now()`-style reading taken when the request arrived. */
  startedAt: number;
  endpointName: string;
  authorization: string | undefined;
  contentType: string | undefined;
  body: Uint8Array;
  clientIp: string | undefined;
  userAgent: string | undefined;
}

/** What goes back to the caller, plus what the edge needs to log. */
export interface InvocationOutcome {
  statusCode: number;
  headers: Record<string, string>;
  /** JSON text (the model's own bytes on success, passed through without re-encoding). */
  body: Uint8Array;
  audit: AuditRecord;
  /** Time the caller waited that was not spent in the backend, audit and usage hand-offs included. */
  overheadMs: number;
  /** The failure behind a non-2xx answer, with its cause, for the log (never for the caller). */
  error?: AppError;
  /** Set when the audit record or usage event could not be handed off. */
  handoffError?: unknown;
}

export interface InvocationDeps {
  endpoints: EndpointRegistry;
  keys: KeyStore;
  backends: BackendRegistry;
  audit: AuditSink;
  usage: UsageSink;
  clock: Clock;
}

const JSON_CONTENT_TYPE = /^application\/([a-z0-9.+-]+\+)?json\s*(;.*)?$/i;

/**
 * Serves one synchronous invocation end to end: authenticate, resolve and authorize the endpoint,
 * validate the body, call the served entity within the endpoint's timeout, check its answer, and
 * hand off the audit record and usage event before answering. Every request, refused or not, is
 * audited; an answer whose audit record or usage event cannot be handed off is withheld (503).
 * Never throws.
 */
export async function serveInvocation(request: InvocationRequest, deps: InvocationDeps): Promise<InvocationOutcome> {
  let principal: Principal | undefined;
  let servedEntity: ServedEntity | undefined;
  let rows = 0;
  let backendLatencyMs: number | undefined;
  let statusCode = 200;
  let headers: Record<string, string> = {};
  let body: Uint8Array;
  let requestJson: unknown;
  let responseJson: unknown;
  let error: AppError | undefined;

  try {
    principal = await authenticate(request.authorization, deps.keys);
    const endpoint = deps.endpoints.get(request.endpointName);
    if (endpoint === undefined) throw new NotFoundError(`No serving endpoint named ${request.endpointName}`);
    authorizeInvocation(principal, endpoint);
    if (request.body.byteLength > endpoint.maxRequestBytes) {
      throw new PayloadTooLargeError(
        `Request body is ${request.body.byteLength} bytes; endpoint ${endpoint.name} accepts at most ${endpoint.maxRequestBytes}`,
      );
    }
    if (request.contentType !== undefined && !JSON_CONTENT_TYPE.test(request.contentType)) {
      throw new UnsupportedMediaTypeError(`Content-Type ${request.contentType} is not supported; send application/json`);
    }
    requestJson = parseJsonBody(request.body);
    rows = parseScoringRequest(requestJson).rows;

    servedEntity = pickServedEntity(endpoint, request.requestId);
    const backendStartedAt = deps.clock.monotonic();
    try {
      const answer = await deps.backends[servedEntity.backend].invoke({
        requestId: request.requestId,
        servedEntity,
        body: request.body,
        contentType: 'application/json',
        signal: AbortSignal.timeout(endpoint.timeoutMs),
      });
      responseJson = parsePredictionResponse(answer.body);
      body = answer.body;
    } finally {
      backendLatencyMs = deps.clock.monotonic() - backendStartedAt;
    }
    headers = { 'x-modelgate-served-entity': servedEntity.name };
  } catch (thrown) {
    error = toAppError(thrown);
    ({ statusCode, headers, body, payload: responseJson } = errorResponse(error, request.requestId));
    if (servedEntity) headers['x-modelgate-served-entity'] = servedEntity.name;
  }

  const latencyMs = deps.clock.monotonic() - request.startedAt;
  // The endpoint's redaction policy applies before the record reaches any sink (or the log).
  const auditPolicy = deps.endpoints.get(request.endpointName)?.audit ?? defaultAuditPolicy();
  const audit = redactAuditRecord(buildAuditRecord({
    requestId: request.requestId,
    receivedAt: request.receivedAt,
    endpointName: request.endpointName,
    principal,
    servedEntity: servedEntity?.name,
    status: statusCode,
    error: error && { code: error.code, message: error.expose ? error.message : 'Internal error' },
    latencyMs,
    backendLatencyMs,
    clientIp: request.clientIp,
    userAgent: request.userAgent,
    requestBody: request.body,
    requestJson,
    responseBody: body,
    responseJson,
  }), auditPolicy);
  const usage: UsageEvent = {
    version: 1,
    requestId: request.requestId,
    time: audit.time,
    tenant: audit.tenant,
    keyId: audit.keyId,
    endpoint: audit.endpoint,
    servedEntity: audit.servedEntity,
    status: statusCode,
    units: { kind: 'rows', input: rows },
    requestBytes: request.body.byteLength,
    responseBytes: body.byteLength,
    latencyMs: audit.latencyMs,
    backendLatencyMs: audit.backendLatencyMs,
  };

  const outcome: InvocationOutcome = { statusCode, headers, body, audit, overheadMs: 0 };
  if (error) outcome.error = error;

  // Both hand-offs run at once: one network round trip on the hot path.
  const handoff = await Promise.allSettled([deps.audit.record(audit), deps.usage.publish(usage)]);
  const failed = handoff.find((result) => result.status === 'rejected');
  if (failed) {
    outcome.handoffError = failed.reason;
    // A refusal discloses nothing, so it keeps its status; an answer that cannot be audited is withheld,
    // unless the endpoint explicitly opted out of fail-closed auditing (a lost usage event still withholds).
    const mustWithhold = auditPolicy.required || handoff[1].status === 'rejected';
    if (statusCode < 400 && mustWithhold) {
      const withheld = new ServiceUnavailableError('AUDIT_UNAVAILABLE', 'The request could not be recorded; it was not served', {
        cause: failed.reason,
        headers: { 'retry-after': '1' },
      });
      const response = errorResponse(withheld, request.requestId);
      outcome.statusCode = response.statusCode;
      outcome.body = response.body;
      outcome.headers = response.headers;
      outcome.error = withheld;
    }
  }
  // Overhead is everything the caller waited for that was not the model, hand-offs included.
  outcome.overheadMs = deps.clock.monotonic() - request.startedAt - (backendLatencyMs ?? 0);
  outcome.headers['x-modelgate-overhead-ms'] = outcome.overheadMs.toFixed(2);
  return outcome;
}

function parseJsonBody(body: Uint8Array): unknown {
  if (body.byteLength === 0) throw new InvalidRequestError('Request body is empty; send a JSON scoring request');
  try {
    return JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch (cause) {
    const detail = cause instanceof SyntaxError ? `: ${cause.message}` : '';
    throw new InvalidRequestError(`Request body is not valid JSON${detail}`, { cause });
  }
}
