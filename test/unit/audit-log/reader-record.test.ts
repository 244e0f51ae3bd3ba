import { describe, expect, it } from 'vitest';
import { isRequestId, requestIdTime } from '../../../lib/core/audit-log/layout';
import { readerRecordId } from '../../../lib/core/audit-log/reader-record-id';
import { toMessageBody } from '../../../lib/adapters/sqs-audit-sink';
import { auditRecordFixture } from '../../fixtures/audit-records';

describe('readerRecordId (the id an audit read on the readers\' queue must carry)', () => {
  const time = new Date('2026-12-06T13:14:15.678Z');
  const read = () => auditRecordFixture(3, time, { kind: 'audit-read', latencyMs: 12.345678901234, client: { ip: null, userAgent: 'cli \uFFFF' } });

  it('is a UUIDv7 of the record\'s own millisecond, so the record lands in its partition', () => {
    const id = readerRecordId(read());
    expect(isRequestId(id)).toBe(true);
    expect(requestIdTime(id)).toEqual(time);
  });

  it('comes out the same from the record as sent and as the archiver parses it back, bodies by reference included', () => {
    // Prepare: the message text escapes U+FFFF, and a large body may have been swapped for a reference.
    const record = read();
    const sent = { ...record, requestId: readerRecordId(record) };
    const arrived = JSON.parse(toMessageBody({ ...sent, response: { bytes: 9, ref: { sha256: 'a'.repeat(64), bytes: 9, s3Key: 'k' } } })) as typeof sent;
    // Act + Assess
    expect(readerRecordId(arrived)).toBe(sent.requestId);
  });

  it('changes with anything in the record but its id and bodies', () => {
    const record = read();
    const id = readerRecordId(record);
    expect(readerRecordId({ ...record, requestId: 'another' })).toBe(id);
    expect(readerRecordId({ ...record, latencyMs: 12.345678901235 })).not.toBe(id);
    expect(readerRecordId({ ...record, keyId: 'key_other' })).not.toBe(id);
    expect(readerRecordId({ ...record, time: new Date(time.getTime() + 1).toISOString() })).not.toBe(id);
  });
});
