import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { createAuditArchiveWriter } from '../../../lib/core/audit-log/archive-writer';
import { archivableRecordFromMessage } from '../../../lib/core/audit-log/archivable-record';
import { batchObjectKey, bodyObjectKey, parseBatchObjectKey, partitionStart } from '../../../lib/core/audit-log/layout';
import { findAuditRecord, resolveBodyRefs, searchAuditLog } from '../../../lib/core/audit-log/search';
import { sha256Hex } from '../../../lib/core/audit-log/sha256';
import type { AuditRecord } from '../../../lib/core/audit-record';
import { MemoryObjectStore } from '../../fakes/memory-object-store';
import { archivableFixtures, auditRecordFixture } from '../../fixtures/audit-records';

const DAY = { from: new Date('2026-11-21T00:00:00Z'), to: new Date('2026-11-22T00:00:00Z') };

describe('reading the audit log', () => {
  const store = new MemoryObjectStore();
  const records: AuditRecord[] = [];

  // 3 hours of records, 40 batch objects whose id ranges overlap (as concurrent senders make them).
  beforeAll(async () => {
    const writer = createAuditArchiveWriter(store);
    for (let batch = 0; batch < 40; batch += 1) {
      const archivable = archivableFixtures(50, new Date(Date.UTC(2026, 10, 21, 9, 0, 0) + batch * 250_000), 6_000, batch * 50);
      records.push(...archivable.map((record) => JSON.parse(record.line) as AuditRecord));
      await writer.append(archivable);
    }
  });

  describe('findAuditRecord (audit show)', () => {
    it('finds any record by its request id, with the object and line it is stored at', async () => {
      for (const record of [records[0]!, records[777]!, records.at(-1)!]) {
        const found = await findAuditRecord(store, record.requestId);
        expect(found?.record).toEqual(record);
        expect(found?.objectKey).toContain(`dt=2026-11-21/hour=${record.time.slice(11, 13)}/`);
      }
    });

    it('reads one listing and only the objects whose id range holds the id', async () => {
      const before = store.gets;
      await findAuditRecord(store, records[1_234]!.requestId);
      expect(store.gets - before).toBeLessThanOrEqual(2);
    });

    it('answers undefined for an unknown id and for something that is not a request id', async () => {
      expect(await findAuditRecord(store, uuidv7({ msecs: Date.UTC(2026, 10, 21, 10) }))).toBeUndefined();
      expect(await findAuditRecord(store, 'not-an-id')).toBeUndefined();
    });

    it('finds a record received just after the hour its id was minted in', async () => {
      // Prepare: id minted at 11:59:59.990, received at 12:00:00.001.
      const edge = auditRecordFixture(9, new Date('2026-11-21T12:00:00.001Z'), { requestId: uuidv7({ msecs: Date.parse('2026-11-21T11:59:59.990Z') }) });
      await createAuditArchiveWriter(store).append([archivableRecordFromMessage(JSON.stringify(edge))]);
      records.push(edge);
      // Act / Assess
      expect((await findAuditRecord(store, edge.requestId))?.record.requestId).toBe(edge.requestId);
    });
  });

  describe('searchAuditLog (audit search)', () => {
    it('finds a day of one tenant, oldest first, exactly the matching records', async () => {
      const result = await searchAuditLog(store, { ...DAY, tenant: 'globex', limit: 10_000 });
      const expected = records.filter((record) => record.tenant === 'globex').map((record) => record.requestId).sort();
      expect(result.records.map((record) => record.requestId)).toEqual(expected);
      expect(result.next).toBeNull();
    });

    it('combines filters: endpoint, status class, key and text', async () => {
      const result = await searchAuditLog(store, { ...DAY, endpoint: 'iris', status: '4xx', limit: 10_000 });
      expect(result.records.length).toBe(records.filter((r) => r.endpoint === 'iris' && r.status >= 400 && r.status < 500).length);
      expect(result.records.every((r) => r.endpoint === 'iris' && r.status >= 400 && r.status < 500)).toBe(true);
      const byText = await searchAuditLog(store, { ...DAY, text: 'CLASS-2', limit: 10_000 });
      expect(byText.records.length).toBeGreaterThan(0);
      expect(byText.records.every((r) => JSON.stringify(r.response.body).includes('class-2'))).toBe(true);
      const byKey = await searchAuditLog(store, { ...DAY, keyId: records[5]!.keyId!, status: '200', limit: 10_000 });
      expect(byKey.records.every((r) => r.keyId === records[5]!.keyId && r.status === 200)).toBe(true);
    });

    it('pages through results with the cursor, without gaps or repeats, across overlapping objects and hours', async () => {
      const seen: string[] = [];
      let after: string | undefined;
      for (let page = 0; page < 100; page += 1) {
        const result = await searchAuditLog(store, { ...DAY, limit: 137, ...(after ? { after } : {}) });
        seen.push(...result.records.map((record) => record.requestId));
        if (!result.next) break;
        after = result.next;
      }
      expect(seen).toEqual(records.map((record) => record.requestId).sort());
    });

    it('keeps to the time range', async () => {
      const from = new Date(records[100]!.time);
      const to = new Date(records[200]!.time);
      const result = await searchAuditLog(store, { from, to, limit: 10_000 });
      expect(result.records.every((r) => r.time >= from.toISOString() && r.time < to.toISOString())).toBe(true);
      expect(result.records.length).toBeGreaterThan(0);
    });
  });

  it('finds text with quotes and backslashes in it, as it was sent', async () => {
    // Prepare
    const quoted = new MemoryObjectStore();
    const said = auditRecordFixture(7, new Date('2026-11-21T09:00:00Z'), { request: { bytes: 60, body: { note: 'The customer said "refund me" from C:\\temp' } } });
    await createAuditArchiveWriter(quoted).append([archivableRecordFromMessage(JSON.stringify(said))]);
    // Act
    const byQuote = await searchAuditLog(quoted, { ...DAY, text: 'said "refund me"', limit: 10 });
    const byPath = await searchAuditLog(quoted, { ...DAY, text: 'C:\\temp', limit: 10 });
    // Assess
    expect(byQuote.records.map((record) => record.requestId)).toEqual([said.requestId]);
    expect(byPath.records.map((record) => record.requestId)).toEqual([said.requestId]);
  });

  it('serves no record from a batch object the chain does not name (one slipped in by a writer to the bucket)', async () => {
    // Prepare: a copy of the log, and an unchained object holding a forged copy of a real record,
    // named so that it sorts before the real one.
    const tampered = new MemoryObjectStore();
    for (const [key, object] of store.objects) tampered.objects.set(key, object);
    const real = records[100]!;
    const name = parseBatchObjectKey((await findAuditRecord(store, real.requestId))!.objectKey)!;
    const key = batchObjectKey({ ...name, firstRequestId: uuidv7({ msecs: partitionStart(name.partition).getTime() }), lastRequestId: real.requestId, recordsHashPrefix: '0'.repeat(16) });
    tampered.objects.set(key, { body: gzipSync(`${JSON.stringify({ ...real, tenant: 'someone-else' })}\n`), options: {} });
    // Act
    const shown = await findAuditRecord(tampered, real.requestId);
    const page = await searchAuditLog(tampered, { ...DAY, limit: 5_000 });
    // Assess
    expect(shown?.record).toEqual(real);
    expect(page.records.filter((record) => record.requestId === real.requestId)).toEqual([real]);
  });

  it('resolves a body stored by reference, and refuses one that does not match its hash', async () => {
    // Prepare
    const body = new TextEncoder().encode(JSON.stringify({ inputs: ['large'] }));
    const sha = sha256Hex(body);
    await store.put(bodyObjectKey(sha), body);
    const record = auditRecordFixture(1, new Date('2026-11-21T09:00:00Z'), {
      request: { bytes: 999_999, ref: { sha256: sha, bytes: body.byteLength, s3Key: bodyObjectKey(sha) } },
      response: { bytes: 10, ref: { sha256: 'f'.repeat(64), bytes: body.byteLength, s3Key: bodyObjectKey(sha) } },
    });
    // Act
    const resolved = await resolveBodyRefs(store, record);
    // Assess
    expect(resolved.request.body).toEqual({ inputs: ['large'] });
    expect(resolved.response).toMatchObject({ error: 'the referenced body does not match its hash' });
    expect(resolved.response.body).toBeUndefined();
  });
});
