import type { AppError } from '../errors';

/** How the worker spaces the deliveries of a request that failed transiently. */
export interface RetryPolicy {
  /** Deliveries before SQS moves the message to the DLQ (the queue's `maxReceiveCount`). */
  maxReceiveCount: number;
  /** Backoff of the first retry, doubled for each further one (seconds). */
  baseDelaySeconds: number;
  /** Ceiling of the backoff (seconds; SQS allows 12 hours). */
  maxDelaySeconds: number;
}

/**
 * Seconds until the next delivery after the `receiveCount`-th failed: exponential from the base,
 * capped, with "equal jitter" (half fixed, half random) so retries of a burst spread out; never
 * sooner than the backend's own `retry-after`, when it gave one.
 */
export function retryDelaySeconds(receiveCount: number, policy: RetryPolicy, random: () => number, error?: AppError): number {
  const exponential = Math.min(policy.maxDelaySeconds, policy.baseDelaySeconds * 2 ** Math.max(0, receiveCount - 1));
  const jittered = Math.ceil(exponential / 2 + (random() * exponential) / 2);
  const retryAfter = Number(error?.headers['retry-after']);
  const floor = Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(retryAfter, policy.maxDelaySeconds) : 0;
  return Math.min(43_200, Math.max(jittered, floor));
}
