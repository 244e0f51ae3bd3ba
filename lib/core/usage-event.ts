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
  units: { kind: 'rows'; input: number };
  requestBytes: number;
  responseBytes: number;
  latencyMs: number;
  backendLatencyMs: number | null;
}
