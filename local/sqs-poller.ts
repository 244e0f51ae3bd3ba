import { DeleteMessageBatchCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { buildLambdaContext } from './api/api-gateway-event';
import { runInvocation } from './invoke-store';

/** A Lambda handler for SQS events, as `functions/*.ts` export them. */
export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | void | undefined>;

export interface SqsPollerOptions {
  sqs: SQSClient;
  /** The queue URL exactly as the emulator returned it (fauxqs matches queues by URL). */
  queueUrl: string;
  queueArn: string;
  region?: string;
  handler: SqsHandler;
  functionName: string;
  /** The function's timeout: an invocation running longer counts as failed, like in Lambda. */
  timeoutSeconds: number;
  /** Most messages per invocation (Lambda: 1-10,000, default 10). */
  batchSize?: number;
  /**
   * How long to keep gathering messages once the first arrived (Lambda's
   * `MaximumBatchingWindowInSeconds`, 0-300). 0 invokes with what one receive returned.
   */
  maximumBatchingWindowSeconds?: number;
  /** `FunctionResponseTypes: [ReportBatchItemFailures]`: only the failed messages return to the queue. */
  reportBatchItemFailures?: boolean;
  /** Invocations in flight at once (Lambda's `ScalingConfig.MaximumConcurrency`); default 1. */
  concurrency?: number;
  /** What the poller did, for the log. */
  onEvent?: (event: SqsPollerEvent) => void;
}

export type SqsPollerEvent =
  | { type: 'invoked'; functionName: string; messages: number; deleted: number; returned: number; durationMs: number }
  | { type: 'invocation-failed'; functionName: string; messages: number; error: string }
  | { type: 'receive-failed'; functionName: string; error: string; retryInMs: number }
  | { type: 'delete-failed'; functionName: string; messages: number; error: string };

export interface SqsPollerStats {
  invocations: number;
  failedInvocations: number;
  messagesReceived: number;
  messagesDeleted: number;
}

export interface SqsPoller {
  readonly stats: Readonly<SqsPollerStats>;
  /** Stops receiving; resolves once the invocations in flight have finished. */
  stop(): Promise<void>;
}

/** Lambda's synchronous invocation payload limit; the event source mapping never exceeds it. */
const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;
/** Stop gathering when one more receive of ten 256 KiB messages could cross Lambda's payload limit. */
const GATHER_LIMIT_BYTES = MAX_PAYLOAD_BYTES - 10 * 256 * 1024;
const LONG_POLL_SECONDS = 20;

/**
 * Drives a Lambda SQS handler the way Lambda's SQS event source mapping does, so the local stack
 * runs queue consumers (the audit archiver, the async worker) for real against the emulator:
 *
 * - long-polls the queue (20 s), up to 10 messages per receive, with all system and message
 *   attributes, and gathers a batch until `batchSize` messages, the batching window (counted from
 *   the first message) or 6 MB of payload, whichever comes first;
 * - invokes the handler with a real `SQSEvent` (Lambda's record shape) and a context whose
 *   remaining time counts down from the function's timeout;
 * - on success deletes the batch's messages; with `reportBatchItemFailures` deletes all but the
 *   `batchItemFailures` the handler returned (an identifier that is empty or not in the batch fails
 *   the whole batch, as in Lambda); on a throw or a timeout deletes nothing;
 * - leaves everything else to the queue: a message not deleted becomes visible again after the
 *   queue's visibility timeout, and its redrive policy moves it to the DLQ after `maxReceiveCount`;
 * - backs off (100 ms doubling to 5 s) while the queue cannot be reached, and carries on when it can.
 */
export function startSqsPoller(options: SqsPollerOptions): SqsPoller {
  const batchSize = options.batchSize ?? 10;
  const windowMs = (options.maximumBatchingWindowSeconds ?? 0) * 1000;
  const concurrency = options.concurrency ?? 1;
  const region = options.region ?? 'us-east-1';
  const stats: SqsPollerStats = { invocations: 0, failedInvocations: 0, messagesReceived: 0, messagesDeleted: 0 };
  const abort = new AbortController();
  let stopping = false;

  const emit = (event: SqsPollerEvent) => options.onEvent?.(event);

  async function gatherBatch(): Promise<Message[]> {
    const batch: Message[] = [];
    let bytes = 0;
    let windowEndsAt: number | undefined;
    while (!stopping && batch.length < batchSize) {
      let waitSeconds = LONG_POLL_SECONDS;
      if (windowEndsAt !== undefined) {
        const left = windowEndsAt - Date.now();
        if (left <= 0) break;
        waitSeconds = Math.min(LONG_POLL_SECONDS, Math.floor(left / 1000));
      }
      const { Messages = [] } = await options.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: options.queueUrl,
          MaxNumberOfMessages: Math.min(10, batchSize - batch.length),
          WaitTimeSeconds: waitSeconds,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
        { abortSignal: abort.signal },
      );
      for (const message of Messages) bytes += Buffer.byteLength(message.Body ?? '');
      batch.push(...Messages);
      stats.messagesReceived += Messages.length;
      if (batch.length === 0) continue;
      if (windowMs === 0 || bytes > GATHER_LIMIT_BYTES) break;
      windowEndsAt ??= Date.now() + windowMs;
      // Under a second of window left: short polls would spin, so wait out a slice of it instead.
      if (Messages.length === 0 && waitSeconds === 0) await sleep(Math.min(50, Math.max(0, windowEndsAt - Date.now())));
    }
    return batch;
  }

  async function invoke(batch: Message[]): Promise<void> {
    const event: SQSEvent = { Records: batch.map((message) => toSqsRecord(message, options.queueArn, region)) };
    const context = buildLambdaContext(options.functionName, options.timeoutSeconds);
    const startedAt = performance.now();
    stats.invocations += 1;
    let timer: NodeJS.Timeout | undefined;
    let response: SQSBatchResponse | void | undefined;
    try {
      response = await Promise.race([
        runInvocation(context, () => options.handler(event, context)),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`Task timed out after ${options.timeoutSeconds} seconds`)), options.timeoutSeconds * 1000);
        }),
      ]);
    } catch (error) {
      stats.failedInvocations += 1;
      emit({ type: 'invocation-failed', functionName: options.functionName, messages: batch.length, error: describe(error) });
      return;
    } finally {
      clearTimeout(timer);
    }
    const toDelete = succeededMessages(batch, response);
    await deleteMessages(toDelete);
    emit({
      type: 'invoked',
      functionName: options.functionName,
      messages: batch.length,
      deleted: toDelete.length,
      returned: batch.length - toDelete.length,
      durationMs: Math.round(performance.now() - startedAt),
    });
  }

  function succeededMessages(batch: Message[], response: SQSBatchResponse | void | undefined): Message[] {
    if (!options.reportBatchItemFailures || !response || !Array.isArray(response.batchItemFailures)) return batch;
    const ids = new Set(batch.map((message) => message.MessageId));
    const failed = new Set<string>();
    for (const failure of response.batchItemFailures) {
      // Lambda treats a malformed failure report as a failure of the whole batch.
      if (!failure.itemIdentifier || !ids.has(failure.itemIdentifier)) return [];
      failed.add(failure.itemIdentifier);
    }
    return batch.filter((message) => !failed.has(message.MessageId ?? ''));
  }

  async function deleteMessages(messages: Message[]): Promise<void> {
    for (let i = 0; i < messages.length; i += 10) {
      const chunk = messages.slice(i, i + 10);
      for (let attempt = 1; ; attempt += 1) {
        try {
          const result = await options.sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl: options.queueUrl,
              Entries: chunk.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle })),
            }),
          );
          stats.messagesDeleted += result.Successful?.length ?? 0;
          break;
        } catch (error) {
          if (attempt >= 3 || stopping) {
            // Not deleted: the messages come back after the visibility timeout (consumers must be idempotent).
            emit({ type: 'delete-failed', functionName: options.functionName, messages: chunk.length, error: describe(error) });
            break;
          }
          await sleep(100 * attempt);
        }
      }
    }
  }

  async function run(): Promise<void> {
    let backoffMs = 0;
    while (!stopping) {
      let batch: Message[];
      try {
        batch = await gatherBatch();
        backoffMs = 0;
      } catch (error) {
        if (stopping) break;
        backoffMs = Math.min(backoffMs === 0 ? 100 : backoffMs * 2, 5_000);
        emit({ type: 'receive-failed', functionName: options.functionName, error: describe(error), retryInMs: backoffMs });
        await sleep(backoffMs);
        continue;
      }
      if (batch.length > 0) await invoke(batch);
    }
  }

  const workers = Array.from({ length: concurrency }, () => run());
  return {
    stats,
    async stop() {
      stopping = true;
      abort.abort();
      await Promise.all(workers);
    },
  };
}

/** A received message as Lambda hands it to the function. */
export function toSqsRecord(message: Message, queueArn: string, region: string): SQSRecord {
  const messageAttributes: SQSRecord['messageAttributes'] = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    messageAttributes[name] = {
      dataType: value.DataType ?? 'String',
      stringValue: value.StringValue,
      binaryValue: value.BinaryValue ? Buffer.from(value.BinaryValue).toString('base64') : undefined,
      stringListValues: value.StringListValues ?? [],
      binaryListValues: (value.BinaryListValues ?? []).map((binary) => Buffer.from(binary).toString('base64')),
    };
  }
  const system = message.Attributes ?? {};
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: system.ApproximateReceiveCount ?? '1',
      SentTimestamp: system.SentTimestamp ?? String(Date.now()),
      SenderId: system.SenderId ?? '000000000000',
      ApproximateFirstReceiveTimestamp: system.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      ...(system.MessageGroupId ? { MessageGroupId: system.MessageGroupId } : {}),
      ...(system.MessageDeduplicationId ? { MessageDeduplicationId: system.MessageDeduplicationId } : {}),
      ...(system.SequenceNumber ? { SequenceNumber: system.SequenceNumber } : {}),
    },
    messageAttributes,
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: region,
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
