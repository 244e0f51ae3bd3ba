import type { Principal } from './api-key';
import type { RouteAttempt } from './route-request';
import type { UsageUnits } from './usage-event';

/** What was sent or answered, as stored in the audit log. */
export interface AuditedBody {
  bytes: number;
  /** The JSON value when the body was JSON; its text otherwise; omitted when too large to keep. */
  body?: unknown;
  /** Set when the body is not kept in full. */
  truncated?: true;
  /**
   * Set when the body was too large to travel inside the audit queue message: it is stored on its
   * own, content-addressed, and the record keeps its hash so the chain still covers it.
   */
  ref?: AuditedBodyRef;
}

/** Where a body stored by reference lives, and the SHA-256 of its stored bytes. */
export interface AuditedBodyRef {
  sha256: string;
  bytes: number;
  s3Key: string;
}

/** What a redaction policy took out of a record before it left the gateway. */
export interface RedactionSummary {
  /** Fields removed by the endpoint's `drop` paths. */
  dropped: number;
  /** Fields replaced by the endpoint's `mask` paths. */
  masked: number;
  /** Values masked because they looked like a secret, e-mail, phone or card number. */
  detected: Partial<Record<'secret' | 'email' | 'phone' | 'card', number>>;
}

/** What kind of request a record is of; `invocation` unless said otherwise. */
export type AuditRecordKind =
  /** A synchronous invocation, served or refused. */
  | 'invocation'
  /** A read of the audit log itself (every read is audited too). */
  | 'audit-read'
  /** A queued submission refused at the door (bad key, body, endpoint): nothing was queued. */
  | 'async-submission'
  /** A queued request's execution, once it ended: succeeded, or failed with the reason. */
  | 'async-invocation';

/** The queued life of an asynchronous request, on its `async-invocation` record. */
export interface AsyncAuditFacts {
  /** `http`: POST .../async-invocations; `sqs`: a producer's message straight onto the request queue. */
  origin: 'http' | 'sqs';
  submittedAt: string;
  startedAt: string | null;
  finishedAt: string;
  /** How many times the request was taken from the queue (retries after transient failures). */
  deliveries: number;
  idempotencyKey: string | null;
}

/**
 * One request as the security team sees it: who sent what to which model, what came back, and
 * why a refused request was refused.
 */
export interface AuditRecord {
  version: 1;
  requestId: string;
  time: string;
  kind: AuditRecordKind;
  tenant: string | null;
  keyId: string | null;
  endpoint: string;
  servedEntity: string | null;
  status: number;
  errorCode: string | null;
  /** Why the request was refused or failed, in our words (never the backend's raw text). */
  errorMessage: string | null;
  latencyMs: number;
  backendLatencyMs: number | null;
  /** What the request consumed (rows, or tokens with whether they are estimated); null when refused before. */
  units: UsageUnits | null;
  /** Every call routing made or skipped, in order: retries and fallbacks are visible here. */
  attempts: RouteAttempt[];
  /** Whether the answer went back as Server-Sent Events; the response body is then the assembled answer. */
  streamed: boolean;
  client: { ip: string | null; userAgent: string | null };
  request: AuditedBody;
  response: AuditedBody;
  /** Present when the endpoint's redaction policy changed anything. */
  redaction?: RedactionSummary;
  /** Present on `async-invocation` records. */
  async?: AsyncAuditFacts;
}

/** Bodies above this size are recorded by size only; the batched audit log stores them by reference. */
export const MAX_AUDITED_BODY_BYTES = 6_000_000;

const decoder = new TextDecoder();

/**
 * Describes a body for the audit log, keeping its JSON structure where it has one. `json` is the
 * body already parsed on the request's way through, so it is not parsed a second time.
 */
export function auditBody(bytes: Uint8Array, json?: unknown): AuditedBody {
  if (bytes.byteLength > MAX_AUDITED_BODY_BYTES) return { bytes: bytes.byteLength, truncated: true };
  if (json !== undefined) return { bytes: bytes.byteLength, body: json };
  const text = decoder.decode(bytes);
  try {
    return { bytes: bytes.byteLength, body: JSON.parse(text) as unknown };
  } catch {
    return { bytes: bytes.byteLength, body: text };
  }
}

export interface AuditFacts {
  /** Default `invocation`. */
  kind?: AuditRecord['kind'];
  requestId: string;
  receivedAt: Date;
  endpointName: string;
  principal: Principal | undefined;
  servedEntity: string | undefined;
  status: number;
  error: { code: string; message: string } | undefined;
  latencyMs: number;
  backendLatencyMs: number | undefined;
  units?: UsageUnits | undefined;
  attempts?: RouteAttempt[] | undefined;
  streamed?: boolean;
  clientIp: string | undefined;
  userAgent: string | undefined;
  requestBody: Uint8Array;
  /** The request body as parsed JSON, where it parsed. */
  requestJson?: unknown;
  responseBody: Uint8Array;
  /** The response body as JSON: the model's validated answer or our error. */
  responseJson?: unknown;
  async?: AsyncAuditFacts;
}

export function buildAuditRecord(facts: AuditFacts): AuditRecord {
  return {
    version: 1,
    requestId: facts.requestId,
    time: facts.receivedAt.toISOString(),
    kind: facts.kind ?? 'invocation',
    tenant: facts.principal?.tenant ?? null,
    keyId: facts.principal?.keyId ?? null,
    endpoint: facts.endpointName,
    servedEntity: facts.servedEntity ?? null,
    status: facts.status,
    errorCode: facts.error?.code ?? null,
    errorMessage: facts.error?.message ?? null,
    latencyMs: round(facts.latencyMs),
    backendLatencyMs: facts.backendLatencyMs === undefined ? null : round(facts.backendLatencyMs),
    units: facts.units ?? null,
    attempts: (facts.attempts ?? []).map((attempt) => ({ ...attempt, latencyMs: round(attempt.latencyMs) })),
    streamed: facts.streamed ?? false,
    client: { ip: facts.clientIp ?? null, userAgent: facts.userAgent ?? null },
    request: auditBody(facts.requestBody, facts.requestJson),
    response: auditBody(facts.responseBody, facts.responseJson),
    ...(facts.async ? { async: facts.async } : {}),
  };
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
