import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

/**
 * Hands each message of an SQS event to `handle` on its own (Powertools' partial batch response):
 * a message whose handling throws is reported failed, retried and finally dead-lettered, without
 * holding up the others. Every message failing is still a partial response: reported, not thrown.
 * The messages run side by side (Powertools starts each handler in message order).
 */
export async function eachQueueMessage(event: SQSEvent, handle: (message: SQSRecord) => Promise<void>): Promise<SQSBatchResponse> {
  // A processor per invocation: it holds the batch's state, and invocations may run side by side in one process.
  const processor = new BatchProcessor(EventType.SQS);
  const { batchItemFailures } = await processPartialResponse(event, handle, processor, {
    throwOnFullBatchFailure: false,
    processInParallel: true,
  });
  // A copy: with no failure, Powertools answers with one module-level object, and callers add to
  // the list (the usage consumer's busy messages), which every later clean batch would then report.
  return { batchItemFailures: [...batchItemFailures] };
}
