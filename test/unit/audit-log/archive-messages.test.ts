import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { archiveAuditMessages } from '../../../lib/http/archive-messages';
import { createAuditArchiveWriter } from '../../../lib/core/audit-log/archive-writer';
import { AUDIT_RECORDS_PREFIX } from '../../../lib/core/audit-log/layout';
import { usageEventFor } from '../../../lib/core/usage-event';
import { RecordingUsageSink } from '../../fakes/fake-ports';
import { MemoryObjectStore } from '../../fakes/memory-object-store';
import { auditRecordFixture, cliReadFixture } from '../../fixtures/audit-records';

/** A message body, the usage event text riding along with it, and the queue it came from, when there are. */
type Message = string | { body: string; usageEvent?: string; queueArn?: string };

const AUDIT_QUEUE_ARN = 'arn:aws:sqs:eu-west-1:123456789012:modelgate-prod-audit';
const READERS_QUEUE_ARN = 'arn:aws:sqs:eu-west-1:123456789012:modelgate-prod-audit-reads';

function event(messages: Message[]): SQSEvent {
  return {
    Records: messages.map((message, i) => {
      const { body, usageEvent, queueArn } = typeof message === 'string' ? { body: message, usageEvent: undefined, queueArn: undefined } : message;
      const messageAttributes = usageEvent === undefined ? {} : { usageEvent: { dataType: 'String', stringValue: usageEvent } };
      const record = { messageId: `m${i}`, receiptHandle: `r${i}`, body, attributes: { ApproximateReceiveCount: '1', SentTimestamp: String(Date.parse('2026-11-21T10:00:00Z')) }, messageAttributes, eventSource: 'aws:sqs', eventSourceARN: queueArn ?? AUDIT_QUEUE_ARN };
      return record as unknown as SQSRecord;
    }),
  };
}

/** An audit record's message with the usage event its request would carry. */
function billedMessage(index: number, time: Date) {
  const record = auditRecordFixture(index, time);
  const usage = usageEventFor(record, { units: { kind: 'tokens', input: 3, output: 5, estimated: false }, requestBytes: 10, responseBytes: 20 });
  return { record, usage, message: { body: JSON.stringify(record), usageEvent: JSON.stringify(usage) } };
}

describe('archiveAuditMessages (one archiver invocation)', () => {
  const time = new Date('2026-11-21T10:00:00Z');

  it('archives the valid records as one batch and reports only the messages that are not audit records', async () => {
    // Prepare
    const store = new MemoryObjectStore();
    const bodies = [JSON.stringify(auditRecordFixture(1, time)), 'not json', JSON.stringify({ requestId: 'x', time: 'y' }), JSON.stringify(auditRecordFixture(2, time))];
    // Act
    const { response, appended } = await archiveAuditMessages(event(bodies), createAuditArchiveWriter(store), new RecordingUsageSink(), READERS_QUEUE_ARN);
    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }, { itemIdentifier: 'm2' }]);
    expect(appended).toMatchObject({ records: 2, duplicates: 0, batches: [expect.objectContaining({ recordCount: 2 })], oldestRecordTime: time });
    expect(store.keys(AUDIT_RECORDS_PREFIX)).toHaveLength(1);
  });

  it('takes only audit reads, without usage events, from the readers\' queue; served requests and bills come from the audit queue', async () => {
    // Prepare: what the gateway sends, and what someone with the auditor policy sends.
    const fromGateway = billedMessage(7, time);
    const forgedBill = billedMessage(8, time);
    const read = cliReadFixture(9, time);
    const forgedServed = auditRecordFixture(10, time);
    const usage = new RecordingUsageSink();
    const messages: Message[] = [
      fromGateway.message,
      { ...forgedBill.message, queueArn: READERS_QUEUE_ARN },
      { body: JSON.stringify(read), queueArn: READERS_QUEUE_ARN },
      { body: JSON.stringify(forgedServed), queueArn: READERS_QUEUE_ARN },
    ];
    // Act
    const { response, appended } = await archiveAuditMessages(event(messages), createAuditArchiveWriter(new MemoryObjectStore()), usage, READERS_QUEUE_ARN);
    // Assess: the forged bill and the forged served request go to the DLQ; the read is archived.
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }, { itemIdentifier: 'm3' }]);
    expect(appended).toMatchObject({ records: 2 });
    expect(usage.events.map((event) => event.requestId)).toEqual([fromGateway.usage.requestId]);
  });

  it('files a read sent on the readers\' queue under a served request\'s id under its own, so the served record is still archived when it comes', async () => {
    // Prepare: a served record not archived yet (waiting in the DLQ, say), and a read sent under its id.
    const served = billedMessage(11, time);
    const shadow = { ...cliReadFixture(12, time), requestId: served.record.requestId };
    const writer = createAuditArchiveWriter(new MemoryObjectStore());
    const usage = new RecordingUsageSink();
    // Act
    const read = await archiveAuditMessages(event([{ body: JSON.stringify(shadow), queueArn: READERS_QUEUE_ARN }]), writer, usage, READERS_QUEUE_ARN);
    const redriven = await archiveAuditMessages(event([served.message]), writer, usage, READERS_QUEUE_ARN);
    // Assess
    expect(read.response.batchItemFailures).toEqual([]);
    expect(read.appended).toMatchObject({ records: 1, duplicates: 0 });
    expect(redriven.appended).toMatchObject({ records: 1, duplicates: 0, usageForwarded: 1 });
  });

  it('keeps the results of two invocations running side by side in one process apart', async () => {
    // Prepare: one batch with a bad message, one without.
    const withBad = event([JSON.stringify(auditRecordFixture(3, time)), 'not json']);
    const allGood = event([JSON.stringify(auditRecordFixture(4, time)), JSON.stringify(auditRecordFixture(5, time)), JSON.stringify(auditRecordFixture(6, time))]);
    // Act
    const [first, second] = await Promise.all([
      archiveAuditMessages(withBad, createAuditArchiveWriter(new MemoryObjectStore()), new RecordingUsageSink(), READERS_QUEUE_ARN),
      archiveAuditMessages(allGood, createAuditArchiveWriter(new MemoryObjectStore()), new RecordingUsageSink(), READERS_QUEUE_ARN),
    ]);
    // Assess
    expect(first.response.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }]);
    expect(first.appended).toMatchObject({ records: 1 });
    expect(second.response.batchItemFailures).toEqual([]);
    expect(second.appended).toMatchObject({ records: 3 });
  });

  it('reports every message failed, without throwing, when none is a record', async () => {
    const { response, appended } = await archiveAuditMessages(event(['{}', '[]']), createAuditArchiveWriter(new MemoryObjectStore()), new RecordingUsageSink(), READERS_QUEUE_ARN);
    expect(response.batchItemFailures.map((failure) => failure.itemIdentifier)).toEqual(['m0', 'm1']);
    expect(appended).toBeUndefined();
  });

  it('fails the whole invocation when the batch cannot be written, so every message is retried', async () => {
    const store = new MemoryObjectStore();
    store.failWith = new Error('S3 unavailable');
    const usage = new RecordingUsageSink();
    await expect(archiveAuditMessages(event([billedMessage(1, time).message]), createAuditArchiveWriter(store), usage, READERS_QUEUE_ARN)).rejects.toThrow('S3 unavailable');
    // Nothing is billed for a record the audit log does not hold yet.
    expect(usage.events).toEqual([]);
  });

  it('forwards the usage events that rode along, once their records are archived, and none for records without one', async () => {
    // Prepare
    const store = new MemoryObjectStore();
    const usage = new RecordingUsageSink();
    const first = billedMessage(1, time);
    const second = billedMessage(2, time);
    const auditRead = JSON.stringify(auditRecordFixture(3, time));
    // Act
    const { response, appended } = await archiveAuditMessages(event([first.message, auditRead, second.message]), createAuditArchiveWriter(store), usage, READERS_QUEUE_ARN);
    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(appended).toMatchObject({ records: 3, usageForwarded: 2 });
    expect(usage.events).toEqual([first.usage, second.usage]);
  });

  it('reports a message failed, and archives nothing of it, when its usage event is malformed or about another request', async () => {
    // Prepare
    const store = new MemoryObjectStore();
    const usage = new RecordingUsageSink();
    const good = billedMessage(1, time);
    const other = billedMessage(2, time);
    const malformed = { body: JSON.stringify(auditRecordFixture(3, time)), usageEvent: '{"version":1}' };
    const mismatched = { body: JSON.stringify(auditRecordFixture(4, time)), usageEvent: other.message.usageEvent };
    // Act
    const { response, appended } = await archiveAuditMessages(event([good.message, malformed, mismatched]), createAuditArchiveWriter(store), usage, READERS_QUEUE_ARN);
    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }, { itemIdentifier: 'm2' }]);
    expect(appended).toMatchObject({ records: 1, usageForwarded: 1 });
    expect(usage.events).toEqual([good.usage]);
  });

  it('fails the whole invocation when the usage events cannot be forwarded, so the batch comes back (the archive dedupes it)', async () => {
    const store = new MemoryObjectStore();
    const usage = new RecordingUsageSink();
    usage.failWith = new Error('usage queue unavailable');
    const writer = createAuditArchiveWriter(store);
    const billed = billedMessage(1, time);
    await expect(archiveAuditMessages(event([billed.message]), writer, usage, READERS_QUEUE_ARN)).rejects.toThrow('usage queue unavailable');
    usage.failWith = undefined;
    const retried = await archiveAuditMessages(event([billed.message]), writer, usage, READERS_QUEUE_ARN);
    expect(retried.appended).toMatchObject({ records: 1, duplicates: 1, usageForwarded: 1 });
    expect(usage.events).toEqual([billed.usage]);
  });
});
