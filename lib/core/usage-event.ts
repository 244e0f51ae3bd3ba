import type { AuditRecord } from './audit-record';

/**
 * What one request consumed: rows scored for classic models; tokens for LLMs (from the backend,
 * or modelgate's estimate marked `estimated` when the backend reports none).
 */
export type UsageUnits =
  | { kind: 'rows'; input: number }
  | { kind: 'tokens'; input: number; output: number; estimated: boolean };

/**
 * One request's usage, for billing and abuse detection. Idempotent on `requestId`: a consumer
 * that sees the same id twice counts it once.
 */
export interface UsageEvent {
  version: 1;
  requestId: string;
  time: string;
  tenant: string | null;
  keyId: string | null;
  endpoint: string;
  servedEntity: string | null;
  status: number;
  /** What the request consumed, in the unit the endpoint's task is billed by. */
  units: UsageUnits;
  requestBytes: number;
  responseBytes: number;
  latencyMs: number;
  backendLatencyMs: number | null;
  /** Set for queued (asynchronous) requests, which billing may price apart. */
  async?: true;
}

/**
 * The usage event of a request, from its (redacted) audit record: the same who, what and when,
 * with what it consumed and the sizes of what went in and out.
 */
export function usageEventFor(
  audit: AuditRecord,
  measures: { units: UsageUnits | undefined; requestBytes: number; responseBytes: number },
): UsageEvent {
  return {
    version: 1,
    requestId: audit.requestId,
    time: audit.time,
    tenant: audit.tenant,
    keyId: audit.keyId,
    endpoint: audit.endpoint,
    servedEntity: audit.servedEntity,
    status: audit.status,
    units: measures.units ?? { kind: 'rows', input: 0 },
    requestBytes: measures.requestBytes,
    responseBytes: measures.responseBytes,
    latencyMs: audit.latencyMs,
    backendLatencyMs: audit.backendLatencyMs,
    ...(audit.async ? { async: true as const } : {}),
  };
}
