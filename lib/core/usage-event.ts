import { z } from 'zod';
import type { AuditRecord } from './audit-record';

/**
 * What one request consumed: rows scored for classic models; tokens for LLMs (from the backend,
 * or modelgate's estimate marked `estimated` when the backend reports none).
 */
export type UsageUnits =
  | { kind: 'rows'; input: number }
  | { kind: 'tokens'; input: number; output: number; estimated: boolean };

const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const usageUnitsSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('rows'), input: count }),
  z.object({ kind: z.literal('tokens'), input: count, output: count, estimated: z.boolean() }),
]);

/** Longest endpoint or served entity name an event carries (the ledger keys by them). */
const MAX_NAME_LENGTH = 200;

/**
 * One request's usage, for billing and abuse detection. Idempotent on `requestId`: a consumer
 * that sees the same id twice counts it once.
 */
export const usageEventSchema = z.object({
  version: z.literal(1),
  requestId: z.string().min(1).max(100),
  time: z.iso.datetime(),
  tenant: z.string().min(1).max(64).nullable(),
  keyId: z.string().min(1).max(64).nullable(),
  endpoint: z.string().max(MAX_NAME_LENGTH),
  servedEntity: z.string().max(MAX_NAME_LENGTH).nullable(),
  status: z.number().int().min(100).max(599),
  /** What the request consumed, in the unit the endpoint's task is billed by. */
  units: usageUnitsSchema,
  requestBytes: count,
  responseBytes: count,
  latencyMs: z.number().min(0),
  backendLatencyMs: z.number().min(0).nullable(),
  /** Who called, when no key says so (401s): what key-guessing rules count by. Absent in older events. */
  clientIp: z.string().max(100).nullable().optional(),
  /** Names of the endpoint's guardrail patterns the request matched. Absent in older events. */
  contentFlags: z.array(z.string().max(63)).max(50).optional(),
  /** Set for queued (asynchronous) requests, which billing may price apart. */
  async: z.literal(true).optional(),
});

export type UsageEvent = z.infer<typeof usageEventSchema>;

/**
 * The usage event of a request, from its (redacted) audit record: the same who, what and when,
 * with what it consumed and the sizes of what went in and out.
 */
export function usageEventFor(
  audit: AuditRecord,
  measures: { units: UsageUnits | undefined; requestBytes: number; responseBytes: number },
  configured: { endpoint?: string | undefined } = {},
): UsageEvent {
  return {
    version: 1,
    requestId: audit.requestId,
    time: audit.time,
    tenant: audit.tenant,
    keyId: audit.keyId,
    // A refused request names whatever endpoint the caller asked for, of any length (and masking
    // may lengthen it): cut to what an event may carry, or its record would never be archived.
    // The configured name as it is: the audit record masks what looks like a secret (an endpoint
    // named sk-...), and a bill under a masked name would go to no endpoint, at no price. (Served
    // entity names pass through the redaction unmasked.)
    endpoint: (configured.endpoint ?? audit.endpoint).slice(0, MAX_NAME_LENGTH),
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
