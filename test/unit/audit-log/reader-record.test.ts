import { v7 as uuidv7 } from 'uuid';
import { describe, expect, it } from 'vitest';
import { toMessageBody } from '../../../lib/adapters/sqs-audit-sink';
import { isRequestId, requestIdTime } from '../../../lib/core/audit-log/layout';
import { readerRecordFromMessage, readerRecordId } from '../../../lib/core/audit-log/reader-record';
import { isProducerRequestId } from '../../../lib/core/request-id-space';
import { cliReadFixture } from '../../fixtures/audit-records';

describe('audit reads on the readers\' queue', () => {
  const time = new Date('2026-12-06T13:14:15.678Z');

  describe('readerRecordId', () => {
    it('is a UUIDv7 of the record\'s own millisecond, so the record lands in its partition, in the gateway\'s half of the id space', () => {
      const ids = Array.from({ length: 64 }, (_, i) => readerRecordId(cliReadFixture(i, time)));
      expect(ids.every(isRequestId)).toBe(true);
      expect(ids.every((id) => requestIdTime(id)!.getTime() === time.getTime())).toBe(true);
      expect(ids.some(isProducerRequestId)).toBe(false);
    });

    it('takes a read dated when a long command started, hours before it was recorded', () => {
      const read = cliReadFixture(6, time);
      expect(readerRecordFromMessage(toMessageBody(read), undefined, new Date(time.getTime() + 5 * 3_600_000)).requestId).toBe(read.requestId);
    });

    it('comes out the same from the record as sent and as parsed back from its message (escapes included)', () => {
      const sent = cliReadFixture(1, time);
      const withEscape = { ...sent, client: { ip: null, userAgent: 'cli \uFFFF' } };
      const arrived = JSON.parse(toMessageBody(withEscape)) as typeof withEscape;
      expect(readerRecordId(arrived)).toBe(readerRecordId(withEscape));
    });

    it('changes with anything in the record but its id', () => {
      const record = cliReadFixture(1, time);
      const id = readerRecordId(record);
      expect(readerRecordId({ ...record, requestId: 'another' })).toBe(id);
      expect(readerRecordId({ ...record, latencyMs: record.latencyMs + 0.001 })).not.toBe(id);
      expect(readerRecordId({ ...record, response: { ...record.response, bytes: 1 } })).not.toBe(id);
      expect(readerRecordId({ ...record, time: new Date(time.getTime() + 1).toISOString() })).not.toBe(id);
    });
  });

  describe('readerRecordFromMessage', () => {
    it('takes the CLI\'s read as it was sent, under the id its content gives', () => {
      const read = cliReadFixture(2, time);
      const body = toMessageBody(read);
      const record = readerRecordFromMessage(body, undefined, time);
      expect(record).toMatchObject({ requestId: read.requestId, time, line: body });
    });

    it('files a read that came with any other id (an older CLI\'s, a served request\'s) under the id its content gives', () => {
      const read = cliReadFixture(3, time);
      const served = uuidv7({ msecs: time.getTime() });
      const record = readerRecordFromMessage(toMessageBody({ ...read, requestId: served }), undefined, time);
      expect(record.requestId).toBe(read.requestId);
      expect(JSON.parse(record.line)).toEqual(read);
    });

    it('writes the line anew, so a member spelled twice leaves one spelling: the one checked', () => {
      // Prepare: a served request's id and kind first, the read's after (JSON.parse keeps the last).
      const read = cliReadFixture(4, time);
      const served = uuidv7({ msecs: time.getTime() });
      const body = toMessageBody(read).replace('{"version":1,', `{"requestId":"${served}","kind":"invocation","version":1,`);
      // Act
      const record = readerRecordFromMessage(body, undefined, time);
      // Assess
      expect(record.line).not.toContain(served);
      expect(record.line.match(/"kind"/g)).toHaveLength(1);
      const stored = JSON.parse(record.line) as typeof read;
      expect(stored).toMatchObject({ requestId: record.requestId, kind: 'audit-read' });
      expect(record.requestId).toBe(readerRecordId(stored));
    });

    it.each([
      ['a usage event', (read: Record<string, unknown>) => read, '{"version":1}', /carries a usage event/],
      ['another kind of record', (read: Record<string, unknown>) => ({ ...read, kind: 'invocation' }), undefined, /record of kind invocation/],
      ['a member in a second spelling', (read: Record<string, unknown>) => ({ ...read, REQUESTID: 'x' }), undefined, /not one the CLI records/],
      ['a member of the wrong type', (read: Record<string, unknown>) => ({ ...read, status: 'x' }), undefined, /not one the CLI records: status/],
      ['a served entity or units', (read: Record<string, unknown>) => ({ ...read, units: { kind: 'rows', input: 1 } }), undefined, /not one the CLI records: units/],
      ['a time two hours after its sending', (read: Record<string, unknown>) => ({ ...read, time: new Date(time.getTime() + 7_200_000).toISOString() }), undefined, /more than an hour after or a week before/],
      ['what only the audit API records: a key\'s tenant', (read: Record<string, unknown>) => ({ ...read, tenant: 'acme' }), undefined, /not one the CLI records: tenant/],
      ['what only the audit API records: its route', (read: Record<string, unknown>) => ({ ...read, endpoint: '/audit/records/{id}' }), undefined, /not one the CLI records: endpoint/],
      ['what only the audit API records: a caller\'s address', (read: Record<string, unknown>) => ({ ...read, client: { ip: '203.0.113.9', userAgent: 'curl' } }), undefined, /not one the CLI records: client\.ip/],
      ['a time eight days before its sending', (read: Record<string, unknown>) => ({ ...read, time: new Date(time.getTime() - 8 * 86_400_000).toISOString() }), undefined, /more than an hour after or a week before/],
    ])('refuses %s', (_name, change, usageEvent, message) => {
      const body = JSON.stringify(change({ ...cliReadFixture(5, time) }));
      expect(() => readerRecordFromMessage(body, usageEvent, time)).toThrow(message);
    });
  });
});
