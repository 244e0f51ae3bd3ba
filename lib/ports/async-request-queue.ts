/**
 * The async request queue (SQS, SSE-KMS, with a DLQ): what the submission API sends, and how the
 * worker pushes a message back for later.
 */
export interface AsyncRequestQueue {
  /** Resolves once SQS has durably stored the message; `delaySeconds` keeps it hidden that long first (at most 900). */
  send(messageText: string, attributes: { requestId: string; tenant: string; endpoint: string }, options?: { delaySeconds?: number }): Promise<void>;
  /** Makes a received message visible again after `seconds` (0: at once), the retry's backoff. */
  retryLater(receiptHandle: string, seconds: number): Promise<void>;
}
