import { gunzipSync } from 'node:zlib';
import { beforeEach, describe, expect, it } from 'vitest';
import { createAuditArchiveWriter } from '../../../lib/core/audit-log/archive-writer';
import { readChainEntry } from '../../../lib/core/audit-log/chain';
import { AUDIT_CHAIN_PREFIX, AUDIT_RECORDS_PREFIX, chainEntryKey, parseBatchObjectKey } from '../../../lib/core/audit-log/layout';
import { GENESIS_SHA256, sha256Hex } from '../../../lib/core/audit-log/sha256';
import { AuditChainConflictError } from '../../../lib/core/errors';
import { MemoryObjectStore } from '../../fakes/memory-object-store';
import { archivableFixtures } from '../../fixtures/audit-records';

const NINE_AM = new Date('2026-11-21T09:00:00.000Z');

function linesOf(store: MemoryObjectStore, key: string): string[] {
  return gunzipSync(store.objects.get(key)!.body).toString('utf8').trimEnd().split('\n');
}

describe('the audit archive writer', () => {
  let store: MemoryObjectStore;

  beforeEach(() => {
    store = new MemoryObjectStore();
  });

  it('writes one gzip JSON-lines object per hour, named by its id range, records sorted by id, stored byte for byte', async () => {
    // Prepare: 30 records across 09:00-10:00, handed over out of order.
    const records = archivableFixtures(30, new Date('2026-11-21T09:59:59.900Z'), 10).reverse();
    // Act
    const result = await createAuditArchiveWriter(store).append(records);
    // Assess
    const dataKeys = store.keys(AUDIT_RECORDS_PREFIX);
    expect(dataKeys).toHaveLength(2);
    expect(dataKeys[0]).toMatch(/^audit\/v1\/dt=2026-11-21\/hour=09\/[0-9a-f-]{36}_[0-9a-f-]{36}_000000000001_[0-9a-f]{16}\.jsonl\.gz$/);
    expect(dataKeys[1]).toMatch(/^audit\/v1\/dt=2026-11-21\/hour=10\//);
    const lines = dataKeys.flatMap((key) => linesOf(store, key));
    expect(lines).toEqual([...records].reverse().map((record) => record.line));
    const first = parseBatchObjectKey(dataKeys[0]!)!;
    expect(first.firstRequestId).toBe(JSON.parse(lines[0]!).requestId);
    expect(result).toMatchObject({ duplicates: 0, conflicts: 0 });
    expect(result.batches.map((batch) => batch.recordCount)).toEqual([10, 20]);
    expect(store.objects.get(dataKeys[0]!)!.options).toMatchObject({ ifNoneMatch: true, metadata: { 'chain-seq': '1' } });
  });

  it('chains each batch object to the previous one with the hashes of its bytes, records and each record', async () => {
    // Prepare
    const writer = createAuditArchiveWriter(store);
    // Act
    await writer.append(archivableFixtures(5, NINE_AM));
    await writer.append(archivableFixtures(5, NINE_AM, 10, 100));
    // Assess
    const first = (await readChainEntry(store, 1))!;
    const second = (await readChainEntry(store, 2))!;
    expect(first.entry!.previousSha256).toBe(GENESIS_SHA256);
    expect(second.entry!.previousSha256).toBe(first.sha256);
    const object = store.objects.get(second.entry!.dataKey)!.body;
    expect(second.entry).toMatchObject({ seq: 2, recordCount: 5, objectSha256: sha256Hex(object) });
    const lines = gunzipSync(object).toString('utf8');
    expect(second.entry!.recordsSha256).toBe(sha256Hex(lines));
    expect(second.entry!.records).toEqual(lines.trimEnd().split('\n').map((line) => [JSON.parse(line).requestId, sha256Hex(line)]));
    expect(store.objects.get(chainEntryKey(2))!.options.ifNoneMatch).toBe(true);
  });

  it('never archives a request id twice: repeats in a batch, redeliveries and copies seen by a cold archiver', async () => {
    // Prepare
    const records = archivableFixtures(20, NINE_AM);
    const writer = createAuditArchiveWriter(store);
    // Act: a batch with a repeat, the same batch redelivered, then part of it to a fresh (cold) archiver.
    const first = await writer.append([...records, records[3]!]);
    const redelivered = await writer.append(records);
    const cold = await createAuditArchiveWriter(store).append([...records.slice(5, 10), ...archivableFixtures(3, NINE_AM, 10, 500)]);
    // Assess
    expect(first.duplicates).toBe(1);
    expect(redelivered).toEqual({ batches: [], duplicates: 20, conflicts: 0 });
    expect(cold.duplicates).toBe(5);
    expect(cold.batches).toEqual([expect.objectContaining({ seq: 2, recordCount: 3 })]);
    const archived = store.keys(AUDIT_RECORDS_PREFIX).flatMap((key) => linesOf(store, key).map((line) => JSON.parse(line).requestId as string));
    expect(archived).toHaveLength(23);
    expect(new Set(archived).size).toBe(23);
  });

  it('stays linear when another archiver takes the next sequence number first: it re-reads the head and takes the next', async () => {
    // Prepare: a competing archiver commits entry 2 just before this one claims it.
    const writer = createAuditArchiveWriter(store);
    await writer.append(archivableFixtures(3, NINE_AM));
    const rival = createAuditArchiveWriter(store);
    let raced = false;
    store.beforePut = async (key) => {
      if (key === chainEntryKey(2) && !raced) {
        raced = true;
        store.beforePut = undefined;
        await rival.append(archivableFixtures(2, NINE_AM, 10, 900));
      }
    };
    // Act
    const result = await writer.append(archivableFixtures(4, NINE_AM, 10, 50));
    // Assess
    expect(result.conflicts).toBe(1);
    expect(result.batches).toEqual([expect.objectContaining({ seq: 3, recordCount: 4 })]);
    const entries = await Promise.all([1, 2, 3].map((seq) => readChainEntry(store, seq)));
    expect(entries[1]!.entry!.previousSha256).toBe(entries[0]!.sha256);
    expect(entries[2]!.entry!.previousSha256).toBe(entries[1]!.sha256);
    expect(store.keys(AUDIT_CHAIN_PREFIX)).toHaveLength(3);
  });

  it('keeps one linear chain, every record once, with four archivers appending at once (two per queue, as deployed)', async () => {
    // Prepare: every write yields, so the four interleave at each step; sequence numbers are raced for.
    store.beforePut = () => new Promise((resolve) => setImmediate(resolve));
    const writers = Array.from({ length: 4 }, () => createAuditArchiveWriter(store, { maxAttempts: 50 }));
    // Act: 4 writers × 10 batches of 5 records, all different.
    await Promise.all(
      writers.map(async (writer, w) => {
        for (let batch = 0; batch < 10; batch += 1) await writer.append(archivableFixtures(5, NINE_AM, 10, (w * 10 + batch) * 5));
      }),
    );
    // Assess: entries 1..40, each linked to the one before, each naming its own object; 200 records once each.
    const seqs = store.keys(AUDIT_CHAIN_PREFIX);
    expect(seqs).toHaveLength(40);
    let previous = GENESIS_SHA256;
    const named = new Set<string>();
    for (let seq = 1; seq <= 40; seq += 1) {
      const stored = (await readChainEntry(store, seq))!;
      expect(stored.entry!.previousSha256).toBe(previous);
      previous = stored.sha256;
      named.add(stored.entry!.dataKey);
    }
    expect(named.size).toBe(40);
    const archived = [...named].flatMap((key) => linesOf(store, key).map((line) => JSON.parse(line).requestId as string));
    expect(archived).toHaveLength(200);
    expect(new Set(archived).size).toBe(200);
  });

  it('gives up with a conflict error (the batch is retried) when the sequence number keeps being taken', async () => {
    // Prepare: something keeps occupying whatever entry this writer is about to claim.
    const writer = createAuditArchiveWriter(store, { maxAttempts: 3 });
    let taken = 0;
    store.beforePut = (key) => {
      if (key.startsWith(AUDIT_CHAIN_PREFIX) && taken < 10) {
        taken += 1;
        store.objects.set(key, { body: new TextEncoder().encode('{}'), options: {} });
      }
    };
    // Act / Assess
    await expect(writer.append(archivableFixtures(2, NINE_AM))).rejects.toBeInstanceOf(AuditChainConflictError);
  });

  it('finds the head of a long chain from its hint, after a cold start', async () => {
    // Prepare
    const writer = createAuditArchiveWriter(store);
    for (let i = 0; i < 5; i += 1) await writer.append(archivableFixtures(1, NINE_AM, 10, i));
    // Act
    const result = await createAuditArchiveWriter(store).append(archivableFixtures(1, NINE_AM, 10, 99));
    // Assess
    expect(result.batches[0]!.seq).toBe(6);
    expect(JSON.parse(new TextDecoder().decode(store.objects.get('audit/state/chain-head.json')!.body))).toMatchObject({ seq: 6 });
  });
});
