import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { UsageEvent } from '../core/usage-event';
import type { UsageSink } from '../ports/usage-sink';

/** Sends each usage event to the usage queue; SQS has durably stored it once `SendMessage` returns. */
export function createSqsUsageSink(client: SQSClient, queueUrl: string): UsageSink {
  return {
    async publish(event: UsageEvent) {
      await client.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: JSON.stringify(event),
          MessageAttributes: {
            requestId: { DataType: 'String', StringValue: event.requestId },
            schema: { DataType: 'String', StringValue: `usage-event.v${event.version}` },
          },
        }),
      );
    },
  };
}
