import type { AsyncOutcome, AsyncRequest, AsyncRequestLease } from '../core/async/async-request';
import type { RouteAttempt } from '../core/route-request';

/** What a delivery found when it tried to take a request's lease. */
export type ClaimResult =
  /** The lease is this delivery's; `request` is as it now stands (queued → running, or ended but not settled). */
  | { outcome: 'claimed'; request: AsyncRequest }
  /** Another message's delivery holds a live lease: it will finish the request, or its message returns. */
  | { outcome: 'busy'; request: AsyncRequest }
  /** The request ended and is settled: nothing left to do. */
  | { outcome: 'settled'; request: AsyncRequest }
  /** The id belongs to another submission (other tenant, endpoint or body). */
  | { outcome: 'mismatch'; request: AsyncRequest }
  | { outcome: 'missing' };

/** Who and what a delivery expects the request to be; a claim checks them before taking the lease. */
export interface ClaimExpectation {
  tenant: string;
  endpoint: string;
  bodySha256: string;
}

/** An idempotency key a tenant sent with a submission, and the request it stands for. */
export interface IdempotencyEntry {
  tenant: string;
  key: string;
  requestId: string;
  endpoint: string;
  bodySha256: string;
  createdAt: string;
  /** Epoch seconds: after this the key is free again. */
  expiresAt: number;
}

/**
 * Queued requests and their idempotency keys (DynamoDB in AWS, dynalite locally). Every change is
 * a conditional write, so concurrent deliveries of the same request cannot both run it.
 */
export interface JobStore {
  /** Create-only; `created: false` with what is there when the id exists. */
  create(request: AsyncRequest): Promise<{ created: true } | { created: false; existing: AsyncRequest | undefined }>;
  /** A strongly consistent read. */
  get(requestId: string): Promise<AsyncRequest | undefined>;
  /**
   * Takes the request's lease for this delivery when it is queued, or running or ended-unsettled
   * under a lease that expired or belongs to an earlier delivery of the same message.
   */
  claim(requestId: string, expected: ClaimExpectation, lease: AsyncRequestLease, now: Date): Promise<ClaimResult>;
  /** Back to `queued` after a failure another delivery may cure; false when the lease was lost. */
  release(requestId: string, lease: AsyncRequestLease, change: { attempts: RouteAttempt[]; lastError: { code: string; message: string }; now: Date }): Promise<boolean>;
  /** The terminal state, under the lease; false when the lease was lost. */
  finish(
    requestId: string,
    lease: AsyncRequestLease,
    change: { status: 'succeeded' | 'failed'; outcome: AsyncOutcome; attempts: RouteAttempt[]; startedAt: string; now: Date },
  ): Promise<boolean>;
  /** Records hand-offs done (never undoes one); the lease is let go once the request is settled. */
  recordHandoff(requestId: string, lease: AsyncRequestLease, handoff: { audit: boolean; usage: boolean }, settled: boolean, now: Date): Promise<boolean>;
  /**
   * Takes the turn to send a still-undelivered request's message again: true for one caller per
   * version of the request (it then shows as just updated), false when it moved on or another
   * caller took the turn.
   */
  markRequeued(requestId: string, seenVersion: number, now: Date): Promise<boolean>;
  /**
   * A submission whose message could not be queued: failed at once, only if still queued and
   * untaken. False when a worker took it first: the send that seemed to fail was stored after all.
   */
  failSubmission(requestId: string, error: { code: string; message: string }, now: Date): Promise<boolean>;

  /** Reserves a tenant's idempotency key for a request, unless a live reservation exists (returned). */
  reserveKey(entry: IdempotencyEntry, now: Date): Promise<{ reserved: true } | { reserved: false; existing: IdempotencyEntry }>;
  /** Points a reservation whose submission never completed at a new request; false when it moved meanwhile. */
  takeOverKey(entry: IdempotencyEntry, previousRequestId: string): Promise<boolean>;
  /** Frees a key reserved for a submission that was not accepted. */
  releaseKey(tenant: string, key: string, requestId: string): Promise<void>;
}
