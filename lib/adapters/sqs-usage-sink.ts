import { SendMessageBatchCommand, SendMessageCommand, type SendMessageBatchRequestEntry, type SQSClient } from '@aws-sdk/client-sqs';
import type { UsageEvent } from '../core/usage-event';
import type { UsageSink } from '../ports/usage-sink';

/** SQS takes at most ten messages per SendMessageBatch. */
const MAX_BATCH_ENTRIES = 10;

/** Sends usage events to the usage queue; SQS has durably stored each once its send returns. */
export function createSqsUsageSink(client: SQSClient, queueUrl: string): UsageSink {
  return {
    async publish(event: UsageEvent) {
      await client.send(new SendMessageCommand({ QueueUrl: queueUrl, ...usageMessage(event) }));
    },
    async publishAll(events: readonly UsageEvent[]) {
      for (let from = 0; from < events.length; from += MAX_BATCH_ENTRIES) {
        const entries: SendMessageBatchRequestEntry[] = events
          .slice(from, from + MAX_BATCH_ENTRIES)
          .map((event, index) => ({ Id: String(index), ...usageMessage(event) }));
        const { Failed = [] } = await client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
        // A batch is not all-or-nothing: any entry SQS did not take fails the whole call, and the
        // caller's retry sends them all again (the aggregator counts each request id once).
        if (Failed.length > 0) {
          const first = Failed[0]!;
          throw new Error(`SQS refused ${Failed.length} of ${entries.length} usage events (first: ${first.Code}: ${first.Message ?? 'no message'})`);
        }
      }
    },
  };
}

function usageMessage(event: UsageEvent) {
  return {
    MessageBody: JSON.stringify(event),
    MessageAttributes: {
      requestId: { DataType: 'String', StringValue: event.requestId },
      schema: { DataType: 'String', StringValue: `usage-event.v${event.version}` },
    },
  };
}
