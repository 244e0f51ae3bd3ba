import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { AbuseFinding } from '../core/abuse/abuse-finding';
import { describeIssues } from '../core/describe-issues';
import { countUsageEvents, type DeliveredUsageEvent, type UsageConsumerDeps } from '../core/usage/count-usage-events';
import { usageEventSchema } from '../core/usage-event';
import { eachQueueMessage } from './each-queue-message';

export interface UsageBatchSummary {
  received: number;
  applied: number;
  duplicates: number;
  /** Claimed by another consumer right now: returned to the queue, counted when it comes back. */
  busy: number;
  invalid: number;
  findings: AbuseFinding[];
}

/** Thrown for a message that is not a usage event: reported failed, retried, then dead-lettered. */
export class InvalidUsageMessageError extends Error {
  override name = 'InvalidUsageMessageError';
}

/**
 * One usage-consumer invocation. Each message is parsed on its own (a malformed one fails alone);
 * the valid events are then counted once per request id (`countUsageEvents`), and those another
 * consumer is counting right now go back to the queue with the malformed ones.
 */
export async function consumeUsageMessages(event: SQSEvent, deps: UsageConsumerDeps): Promise<{ response: SQSBatchResponse; summary: UsageBatchSummary }> {
  const delivered: DeliveredUsageEvent[] = [];
  const response = await eachQueueMessage(event, async (message) => {
    let json: unknown;
    try {
      json = JSON.parse(message.body);
    } catch {
      throw new InvalidUsageMessageError(`message ${message.messageId} is not JSON`);
    }
    const parsed = usageEventSchema.safeParse(json);
    if (!parsed.success) throw new InvalidUsageMessageError(`message ${message.messageId} is not a usage event: ${describeIssues(parsed.error.issues)}`);
    delivered.push({ event: parsed.data, messageId: message.messageId });
  });
  const invalid = response.batchItemFailures.length;
  const count = await countUsageEvents(delivered, deps);
  for (const messageId of count.busyMessageIds) response.batchItemFailures.push({ itemIdentifier: messageId });
  return {
    response,
    summary: { received: event.Records.length, applied: count.applied, duplicates: count.duplicates, busy: count.busyMessageIds.length, invalid, findings: count.findings },
  };
}
