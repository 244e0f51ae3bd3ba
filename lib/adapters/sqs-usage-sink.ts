import type { SQSClient } from '@aws-sdk/client-sqs';
import { sqsSafeJson } from '../core/sqs-safe-text';
import type { UsageEvent } from '../core/usage-event';
import type { UsageSink } from '../ports/usage-sink';
import { createGroupCommitSender, type QueueMessage } from './sqs-group-commit';

/**
 * Sends usage events to the usage queue; SQS has durably stored each once its send returns. Sent
 * through the same group commit as the audit records: events handed over together (the archiver's
 * forward of a whole batch) leave ten to a SendMessageBatch, several batches in flight.
 */
export function createSqsUsageSink(client: SQSClient, queueUrl: string): UsageSink {
  const send = createGroupCommitSender(client, queueUrl);
  return {
    publish: (event) => send(usageMessage(event)),
    async publishAll(events) {
      // Any event SQS did not take fails the whole call, and the caller's retry sends them all
      // again (the aggregator counts each request id once).
      await Promise.all(events.map((event) => send(usageMessage(event))));
    },
  };
}

function usageMessage(event: UsageEvent): QueueMessage {
  return {
    MessageBody: sqsSafeJson(event),
    MessageAttributes: {
      requestId: { DataType: 'String', StringValue: event.requestId },
      schema: { DataType: 'String', StringValue: `usage-event.v${event.version}` },
    },
  };
}
