import type { RouteAttempt } from '../route-request';
import type { UsageUnits } from '../usage-event';

/** Where a queued request stands, as `GET /requests/{id}` shows it. */
export type AsyncRequestStatus = 'queued' | 'running' | 'succeeded' | 'failed';

/** A request that ended: what the caller will be shown, and what its audit record and usage event say. */
export interface AsyncOutcome {
  /** The status the synchronous path would have answered: 200, or the error's. */
  statusCode: number;
  error: { code: string; message: string } | null;
  servedEntity: string | null;
  units: UsageUnits | null;
  backendLatencyMs: number | null;
  /** Size of the stored result (`results/v1/<id>.json`): the answer, or the error. */
  resultBytes: number;
  /** Whether the endpoint fails closed on audit: a terminal state shows only once its record is handed off. */
  auditRequired: boolean;
}

/**
 * Which delivery of which message works on a request. A lease is taken before the model is called
 * and held until the request's audit record and usage event are handed off; another delivery
 * finding a live lease leaves the request alone. A later delivery of the same message (its
 * receive count is higher) may take the lease over at once: the earlier one has ended.
 */
export interface AsyncRequestLease {
  messageId: string;
  receiveCount: number;
  /** Epoch milliseconds; after this any delivery may take the lease (its holder crashed). */
  until: number;
}

/** One queued request, as the job store keeps it. */
export interface AsyncRequest {
  requestId: string;
  tenant: string;
  /** The API key that submitted it; null for a producer's message sent straight onto the queue. */
  keyId: string | null;
  /** SHA-256 of that key (what the key store is indexed by), so its suspension is honoured at execution. */
  keyHash: string | null;
  endpoint: string;
  origin: 'http' | 'sqs';
  status: AsyncRequestStatus;
  submittedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  updatedAt: string;
  /** The body's canonical JSON text: its hash and size, and whether it is stored (claim check). */
  body: { sha256: string; bytes: number; stored: boolean };
  idempotencyKey: string | null;
  client: { ip: string | null; userAgent: string | null };
  /** How many deliveries have taken the request (retries after transient failures included). */
  deliveries: number;
  /** Every call routing made, over all deliveries (the latest 50). */
  attempts: RouteAttempt[];
  /** Why the last delivery gave the request back to the queue, while it waits for the next. */
  lastError: { code: string; message: string } | null;
  outcome: AsyncOutcome | null;
  /** Which of the audit record and the usage event have been handed off (both, once settled). */
  handoff: { audit: boolean; usage: boolean };
  lease: AsyncRequestLease | null;
  /** Incremented by every change: conditional writes compare it. */
  version: number;
  /** Epoch seconds after which the store may forget the request (DynamoDB TTL). */
  expiresAt: number;
}

/** Keeps the attempts list bounded: a request retried many times keeps its latest calls. */
export const MAX_KEPT_ATTEMPTS = 50;

/** Whether a request has ended and its audit record and usage event are handed off. */
export function isSettled(request: AsyncRequest): boolean {
  if (request.outcome === null) return false;
  return request.handoff.usage && (request.handoff.audit || !request.outcome.auditRequired);
}

/**
 * The status a caller sees. A request that ended but whose audit record is not yet handed off
 * still shows `running`: like a synchronous answer, a result is not released before it is audited.
 */
export function visibleStatus(request: AsyncRequest): AsyncRequestStatus {
  if (request.status === 'succeeded' || request.status === 'failed') return isSettled(request) ? request.status : 'running';
  return request.status;
}
