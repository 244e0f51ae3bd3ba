import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { archiveAuditMessages } from '../../../lib/core/audit-log/archive-messages';
import { createAuditArchiveWriter } from '../../../lib/core/audit-log/archive-writer';
import { AUDIT_RECORDS_PREFIX } from '../../../lib/core/audit-log/layout';
import { MemoryObjectStore } from '../../fakes/memory-object-store';
import { auditRecordFixture } from '../../fixtures/audit-records';

function event(bodies: string[]): SQSEvent {
  return {
    Records: bodies.map((body, i) => ({ messageId: `m${i}`, receiptHandle: `r${i}`, body, attributes: { ApproximateReceiveCount: '1' }, messageAttributes: {}, eventSource: 'aws:sqs' }) as unknown as SQSRecord),
  };
}

describe('archiveAuditMessages (one archiver invocation)', () => {
  const time = new Date('2026-11-21T10:00:00Z');

  it('archives the valid records as one batch and reports only the messages that are not audit records', async () => {
    // Prepare
    const store = new MemoryObjectStore();
    const bodies = [JSON.stringify(auditRecordFixture(1, time)), 'not json', JSON.stringify({ requestId: 'x', time: 'y' }), JSON.stringify(auditRecordFixture(2, time))];
    // Act
    const { response, appended } = await archiveAuditMessages(event(bodies), createAuditArchiveWriter(store));
    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }, { itemIdentifier: 'm2' }]);
    expect(appended).toMatchObject({ records: 2, duplicates: 0, batches: [expect.objectContaining({ recordCount: 2 })], oldestRecordTime: time });
    expect(store.keys(AUDIT_RECORDS_PREFIX)).toHaveLength(1);
  });

  it('reports every message failed, without throwing, when none is a record', async () => {
    const { response, appended } = await archiveAuditMessages(event(['{}', '[]']), createAuditArchiveWriter(new MemoryObjectStore()));
    expect(response.batchItemFailures.map((failure) => failure.itemIdentifier)).toEqual(['m0', 'm1']);
    expect(appended).toBeUndefined();
  });

  it('fails the whole invocation when the batch cannot be written, so every message is retried', async () => {
    const store = new MemoryObjectStore();
    store.failWith = new Error('S3 unavailable');
    await expect(archiveAuditMessages(event([JSON.stringify(auditRecordFixture(1, time))]), createAuditArchiveWriter(store))).rejects.toThrow('S3 unavailable');
  });
});
