import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import type { UsageConsumerDeps } from '../../../lib/core/usage/count-usage-events';
import { consumeUsageMessages } from '../../../lib/http/consume-usage-messages';

function event(prefix: string, bodies: string[]): SQSEvent {
  return {
    Records: bodies.map((body, i) => ({ messageId: `${prefix}${i}`, receiptHandle: `r${i}`, body, attributes: { ApproximateReceiveCount: '1' }, messageAttributes: {}, eventSource: 'aws:sqs' }) as unknown as SQSRecord),
  };
}

/** Nothing valid reaches the ledger in these batches: any use of it is a failure of the test. */
const untouched = new Proxy({}, {
  get: () => {
    throw new Error('the ledger, pricing and abuse rules are not for batches without a valid event');
  },
}) as UsageConsumerDeps;

describe('consumeUsageMessages (one usage-consumer invocation)', () => {
  it('keeps the results of two invocations running side by side in one process apart', async () => {
    // Prepare: two batches of messages that are not usage events, with ids of their own.
    const one = event('a', ['not json']);
    const other = event('b', ['{}', '[]', 'nor this']);
    // Act
    const [first, second] = await Promise.all([consumeUsageMessages(one, untouched), consumeUsageMessages(other, untouched)]);
    // Assess
    expect(first.response.batchItemFailures).toEqual([{ itemIdentifier: 'a0' }]);
    expect(first.summary).toMatchObject({ received: 1, invalid: 1, applied: 0 });
    expect(second.response.batchItemFailures).toEqual([{ itemIdentifier: 'b0' }, { itemIdentifier: 'b1' }, { itemIdentifier: 'b2' }]);
    expect(second.summary).toMatchObject({ received: 3, invalid: 3, applied: 0 });
  });
});
