/**
 * The async request queue (SQS, SSE-KMS, with a DLQ): what the submission API sends, and how the
 * worker pushes a message back for later.
 */
export interface AsyncRequestQueue {
  /** Resolves once SQS has durably stored the message. */
  send(messageText: string, attributes: { requestId: string; tenant: string; endpoint: string }): Promise<void>;
  /** Makes a received message visible again after `seconds` (0: at once), the retry's backoff. */
  retryLater(receiptHandle: string, seconds: number): Promise<void>;
}
