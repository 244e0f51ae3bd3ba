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
}
