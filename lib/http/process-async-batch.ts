import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { runAsyncMessage, type AsyncWorkerDeps, type MessageDisposition } from '../core/async/run-async-message';
import { eachQueueMessage } from './each-queue-message';

/** A message the event source must not delete: retried after its backoff, or dead-lettered. */
export class MessageKeptError extends Error {
  override name = 'MessageKeptError';
  constructor(readonly disposition: Extract<MessageDisposition, { kind: 'retry' | 'dead-letter' }>) {
    super(`message kept for ${disposition.kind === 'retry' ? `a retry in ${disposition.delaySeconds} s` : 'the dead-letter queue'}`);
  }
}

export interface AsyncBatchResult {
  response: SQSBatchResponse;
  dispositions: MessageDisposition[];
}

/**
 * One worker invocation: the batch's messages run in parallel, each on its own (only those to
 * keep are reported, so a poison message never holds up the others), and the dispositions come
 * back for the log and the metrics.
 */
export async function processAsyncBatch(event: SQSEvent, deps: AsyncWorkerDeps): Promise<AsyncBatchResult> {
  const dispositions: MessageDisposition[] = [];
  const response = await eachQueueMessage(event, async (record) => {
    const disposition = await runAsyncMessage(
      {
        messageId: record.messageId,
        receiptHandle: record.receiptHandle,
        body: record.body,
        receiveCount: Number(record.attributes.ApproximateReceiveCount) || 1,
        senderId: record.attributes.SenderId,
      },
      deps,
    );
    dispositions.push(disposition);
    if (disposition.kind === 'retry' || disposition.kind === 'dead-letter') throw new MessageKeptError(disposition);
  });
  return { response, dispositions };
}
