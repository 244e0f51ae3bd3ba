import {
  SendMessageBatchCommand,
  SendMessageCommand,
  type BatchResultErrorEntry,
  type MessageAttributeValue,
  type SQSClient,
} from '@aws-sdk/client-sqs';

/** One message as SendMessage takes it. */
export interface QueueMessage {
  MessageBody: string;
  MessageAttributes?: Record<string, MessageAttributeValue>;
}

export interface GroupCommitOptions {
  /**
   * Most bytes (bodies and attributes) in one SendMessageBatch: SQS's limit for a batch on a
   * queue with the classic 256 KiB maximum message size.
   */
  maxBatchBytes?: number;
  /** Most batches in flight at once; a further one leaves only when a full batch is waiting. */
  maxInFlight?: number;
  /** Sends of an entry SQS failed on its side (not the sender's fault), before it is given up. */
  maxEntryAttempts?: number;
  /**
   * Wait before the first resend of such an entry, doubling for each further one; half of it
   * fixed, half random, so a struggling queue is not hit again at once and in step.
   */
  entryRetryDelayMs?: number;
}

/** Hands one message to the queue; resolves once SQS has durably stored it. */
export type SendQueueMessage = (message: QueueMessage) => Promise<void>;

/** SQS takes at most ten messages per SendMessageBatch. */
const MAX_BATCH_ENTRIES = 10;
const DEFAULT_MAX_BATCH_BYTES = 262_144;
const DEFAULT_MAX_IN_FLIGHT = 4;
/** As the SDK's own standard retry strategy, which already retries the call as a whole. */
const DEFAULT_MAX_ENTRY_ATTEMPTS = 3;
/** Short: the requests whose records wait are waiting on the answer to their callers. */
const DEFAULT_ENTRY_RETRY_DELAY_MS = 50;

interface Waiting {
  message: QueueMessage;
  bytes: number;
  attempts: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

/**
 * Group commit for one queue. A message handed over while no send is in flight leaves at once in
 * its own SendMessage, so one request at a time (a classic Lambda container) pays exactly what it
 * did; messages handed over while a send is in flight wait for it and leave together in one
 * SendMessageBatch. Concurrent requests in one process (the local API, or Lambda Managed
 * Instances, which give a Node.js worker up to 64 requests per vCPU at once) then share round
 * trips, and the SDK's per-call work, the largest single cost of the request path, is paid once per
 * batch instead of once per request. Each promise still resolves only when its own message is
 * stored, so nothing is answered before its record is durable.
 */
export function createGroupCommitSender(client: SQSClient, queueUrl: string, options: GroupCommitOptions = {}): SendQueueMessage {
  const maxBatchBytes = options.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
  const maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
  const maxEntryAttempts = options.maxEntryAttempts ?? DEFAULT_MAX_ENTRY_ATTEMPTS;
  const entryRetryDelayMs = options.entryRetryDelayMs ?? DEFAULT_ENTRY_RETRY_DELAY_MS;
  const waiting: Waiting[] = [];
  let inFlight = 0;
  let flushQueued = false;

  // Flushing in a microtask lets messages handed over in the same turn of the event loop share a batch.
  const scheduleFlush = () => {
    if (flushQueued) return;
    flushQueued = true;
    queueMicrotask(flush);
  };

  function flush(): void {
    flushQueued = false;
    while (waiting.length > 0 && (inFlight === 0 || (inFlight < maxInFlight && fullBatchWaiting()))) {
      void dispatch(takeBatch());
    }
  }

  function fullBatchWaiting(): boolean {
    if (waiting.length >= MAX_BATCH_ENTRIES) return true;
    const bytes = waiting.reduce((sum, entry) => sum + entry.bytes, 0);
    return bytes >= maxBatchBytes;
  }

  function takeBatch(): Waiting[] {
    // The first message always goes, even one larger than a batch may be: SQS judges it alone.
    let count = 1;
    let bytes = waiting[0]!.bytes;
    while (count < waiting.length && count < MAX_BATCH_ENTRIES && bytes + waiting[count]!.bytes <= maxBatchBytes) {
      bytes += waiting[count]!.bytes;
      count += 1;
    }
    return waiting.splice(0, count);
  }

  async function dispatch(batch: Waiting[]): Promise<void> {
    inFlight += 1;
    try {
      if (batch.length === 1) await sendAlone(batch[0]!);
      else await sendTogether(batch);
    } finally {
      inFlight -= 1;
      if (waiting.length > 0) scheduleFlush();
    }
  }

  async function sendAlone(entry: Waiting): Promise<void> {
    entry.attempts += 1;
    try {
      await client.send(new SendMessageCommand({ QueueUrl: queueUrl, ...entry.message }));
      entry.resolve();
    } catch (error) {
      entry.reject(asError(error));
    }
  }

  async function sendTogether(batch: Waiting[]): Promise<void> {
    for (const entry of batch) entry.attempts += 1;
    let answer: { Successful?: Array<{ Id: string | undefined }>; Failed?: BatchResultErrorEntry[] };
    try {
      answer = await client.send(
        new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: batch.map((entry, index) => ({ Id: String(index), ...entry.message })) }),
      );
    } catch (error) {
      // The SDK has already retried the call as a whole; every message in it is refused.
      for (const entry of batch) entry.reject(asError(error));
      return;
    }
    const stored = new Set((answer.Successful ?? []).map((entry) => entry.Id));
    const failed = new Map((answer.Failed ?? []).map((entry) => [entry.Id, entry]));
    const again: Waiting[] = [];
    batch.forEach((entry, index) => {
      const id = String(index);
      if (stored.has(id)) return entry.resolve();
      const failure = failed.get(id);
      if (failure !== undefined && !failure.SenderFault && entry.attempts < maxEntryAttempts) return void again.push(entry);
      entry.reject(
        new Error(
          failure === undefined
            ? 'SQS answered the batch without a result for this message'
            : `SQS refused the message (${failure.Code ?? 'no code'}${failure.SenderFault ? ', sender fault' : ''}: ${failure.Message ?? 'no message'})`,
        ),
      );
    });
    if (again.length === 0) return;
    // Entries SQS failed on its side go again after a backoff, then ahead of newer ones.
    const delay = entryRetryDelayMs * 2 ** (again[0]!.attempts - 1);
    setTimeout(() => {
      waiting.unshift(...again);
      scheduleFlush();
    }, delay / 2 + Math.random() * (delay / 2));
  }

  return (message) =>
    new Promise<void>((resolve, reject) => {
      waiting.push({ message, bytes: messageBytes(message), attempts: 0, resolve, reject });
      scheduleFlush();
    });
}

/** What SQS counts toward a message's size: its body, and each attribute's name, type and value. */
function messageBytes(message: QueueMessage): number {
  let bytes = Buffer.byteLength(message.MessageBody);
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value.DataType ?? '') + Buffer.byteLength(value.StringValue ?? '') + (value.BinaryValue?.byteLength ?? 0);
  }
  return bytes;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
