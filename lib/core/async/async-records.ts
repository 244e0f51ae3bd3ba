import type { AuditPolicy } from '../audit-policy';
import { flagContent, type Guardrails } from '../guardrails';
import { buildAuditRecord, type AuditRecord } from '../audit-record';
import { redactAuditRecord } from '../redact-audit-record';
import { usageEventFor, type UsageEvent } from '../usage-event';
import type { AsyncRequest } from './async-request';

/** What a settled request's audit record and usage event are built from: all of it stored, so a rebuild is identical. */
export interface AsyncExecution {
  request: AsyncRequest;
  /** The body's canonical JSON text (bytes) and value. */
  requestBody: Uint8Array;
  requestJson: unknown;
  /** The stored result: the answer or the error, as `GET /requests/{id}` returns it. */
  resultBody: Uint8Array;
  resultJson: unknown;
}

/**
 * The one audit record (kind `async-invocation`) and usage event of a queued request that ended,
 * redacted by the endpoint's policy. Everything comes from the stored request and result, so a
 * later delivery that has to hand them off again (its predecessor crashed in between) builds the
 * same record, and the audit log's exactly-once archiving keeps one.
 *
 * The record's time is the submission's (its request id's), which is where `audit show` looks;
 * its latency runs from submission to the end, queueing included.
 */
export function asyncExecutionRecords(execution: AsyncExecution, policy: AuditPolicy, guardrails: Guardrails | undefined): { audit: AuditRecord; usage: UsageEvent } {
  const { request } = execution;
  const outcome = request.outcome;
  if (outcome === null || request.finishedAt === null) throw new Error(`request ${request.requestId} has not ended`);
  const submittedAt = new Date(request.submittedAt);
  const built = buildAuditRecord({
    kind: 'async-invocation',
    requestId: request.requestId,
    receivedAt: submittedAt,
    endpointName: request.endpoint,
    principal: { tenant: request.tenant, keyId: request.keyId ?? '', roles: [], endpoints: [] },
    servedEntity: outcome.servedEntity ?? undefined,
    status: outcome.statusCode,
    error: outcome.error ?? undefined,
    // A producer's id may be dated a few minutes ahead of our clock (accepted skew): never below zero,
    // which the usage event's schema refuses (the record and bill would end in the audit DLQ).
    latencyMs: Math.max(0, new Date(request.finishedAt).getTime() - submittedAt.getTime()),
    backendLatencyMs: outcome.backendLatencyMs ?? undefined,
    units: outcome.units ?? undefined,
    attempts: request.attempts,
    streamed: false,
    clientIp: request.client.ip ?? undefined,
    userAgent: request.client.userAgent ?? undefined,
    requestBody: execution.requestBody,
    requestJson: execution.requestJson,
    responseBody: execution.resultBody,
    responseJson: execution.resultJson,
    async: {
      origin: request.origin,
      submittedAt: request.submittedAt,
      startedAt: request.startedAt,
      finishedAt: request.finishedAt,
      deliveries: request.deliveries,
      idempotencyKey: request.idempotencyKey,
    },
  });
  // A producer's message has no API key behind it.
  const audit = redactAuditRecord({ ...built, keyId: request.keyId }, policy);
  const usage = usageEventFor(
    audit,
    { units: outcome.units ?? undefined, requestBytes: execution.requestBody.byteLength, responseBytes: execution.resultBody.byteLength },
    { endpoint: request.endpoint },
  );
  // What the abuse rules count, as on the synchronous path: who called, and what the prompt matched.
  return { audit, usage: { ...usage, async: true, clientIp: request.client.ip, contentFlags: flagContent(guardrails, execution.requestJson) } };
}
