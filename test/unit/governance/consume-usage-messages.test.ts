import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import type { UsageConsumerDeps } from '../../../lib/core/usage/count-usage-events';
import { usageEventFor } from '../../../lib/core/usage-event';
import { consumeUsageMessages } from '../../../lib/http/consume-usage-messages';
import type { UsageLedger } from '../../../lib/ports/usage-ledger';
import { auditRecordFixture } from '../../fixtures/audit-records';

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

describe('consumeUsageMessages: messages another consumer is counting', () => {
  const time = new Date('2026-11-21T10:00:00Z');
  const usage = (index: number) => usageEventFor(auditRecordFixture(index, time), { units: undefined, requestBytes: 10, responseBytes: 20 });

  /** A ledger that finds request ids of `busy` claimed by another consumer, and every other id counted before. */
  function ledgerWith(busy: ReadonlySet<string>): UsageConsumerDeps {
    const ledger: Pick<UsageLedger, 'claim'> = {
      claim: async (entries) => entries.map((entry) => (busy.has(entry.event.requestId) ? 'busy' : 'duplicate')),
    };
    return { ...untouched, ledger: ledger as UsageLedger, leaseMs: 1_000, now: () => time } as UsageConsumerDeps;
  }

  it('returns them to the queue, and the next batch in the same process reports only its own failures', async () => {
    // Prepare
    const [busy, counted] = [usage(1), usage(2)];
    const deps = ledgerWith(new Set([busy.requestId]));
    // Act
    const first = await consumeUsageMessages(event('a', [JSON.stringify(busy)]), deps);
    const second = await consumeUsageMessages(event('b', [JSON.stringify(counted)]), deps);
    // Assess
    expect(first.response.batchItemFailures).toEqual([{ itemIdentifier: 'a0' }]);
    expect(first.summary).toMatchObject({ received: 1, busy: 1, invalid: 0 });
    expect(second.response.batchItemFailures).toEqual([]);
    expect(second.summary).toMatchObject({ received: 1, busy: 0, duplicates: 1, invalid: 0 });
  });
});
