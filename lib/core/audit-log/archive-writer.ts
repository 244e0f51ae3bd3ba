import { gzipSync } from 'node:zlib';
import { AuditChainConflictError } from '../errors';
import type { ObjectStore } from '../../ports/object-store';
import type { ArchivableRecord } from './archivable-record';
import { createArchivedIndex, type ArchivedIndex } from './archived-index';
import { readChainHead, writeChainHint, type ChainHead } from './chain';
import type { ChainEntry } from './chain-entry';
import { batchObjectKey, chainEntryKey } from './layout';
import { sha256Hex } from './sha256';

/** A batch object that made it into the chain. */
export interface CommittedBatch {
  seq: number;
  dataKey: string;
  recordCount: number;
}

export interface AppendResult {
  batches: CommittedBatch[];
  /** Records dropped because their request id was already archived or repeated in the input. */
  duplicates: number;
  /** Times another archiver took the sequence number first (each costs one retry). */
  conflicts: number;
}

export interface AuditArchiveWriter {
  /**
   * Appends records to the log: one batch object per hour partition, each chained. Resolves once
   * every record is in a chained batch object (or was already). Throws when it cannot, and then
   * the caller retries the whole input: records already chained are recognised and skipped.
   */
  append(records: readonly ArchivableRecord[]): Promise<AppendResult>;
}

export interface AuditArchiveWriterOptions {
  now?: () => Date;
  /** Attempts per partition when concurrent archivers keep taking the next sequence number. */
  maxAttempts?: number;
  index?: ArchivedIndex;
}

const encoder = new TextEncoder();

/**
 * The archiver's write path. For each partition of the input: drop records already archived,
 * write the batch object (create-only, named by its id range, sequence number and records hash),
 * then claim the next chain entry with a create-only write. Losing that claim to a concurrent
 * archiver means re-reading the head and trying again with the next number, so the chain stays
 * linear without a lock; the losing batch object is left unchained (verify recognises it).
 */
export function createAuditArchiveWriter(store: ObjectStore, options: AuditArchiveWriterOptions = {}): AuditArchiveWriter {
  const now = options.now ?? (() => new Date());
  const maxAttempts = options.maxAttempts ?? 8;
  const index = options.index ?? createArchivedIndex(store);
  let head: ChainHead | undefined;

  async function commitPartition(records: ArchivableRecord[], result: AppendResult): Promise<void> {
    for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
      head ??= await readChainHead(store);
      const fresh = await index.filterUnarchived(records);
      if (fresh.length === 0) {
        result.duplicates += records.length;
        return;
      }
      const batch = buildBatch(fresh, head, now());
      await store.put(batch.entry.dataKey, batch.objectBytes, {
        ifNoneMatch: true,
        contentType: 'application/gzip',
        metadata: {
          'chain-seq': String(batch.entry.seq),
          'records-sha256': batch.entry.recordsSha256,
          'previous-entry-sha256': batch.entry.previousSha256,
          'record-count': String(batch.entry.recordCount),
        },
      });
      const claim = await store.put(chainEntryKey(batch.entry.seq), batch.entryBytes, { ifNoneMatch: true, contentType: 'application/json' });
      if (claim.created) {
        head = { seq: batch.entry.seq, sha256: sha256Hex(batch.entryBytes) };
        index.remember(batch.entry);
        result.duplicates += records.length - fresh.length;
        result.batches.push({ seq: batch.entry.seq, dataKey: batch.entry.dataKey, recordCount: batch.entry.recordCount });
        // Only a hint for the next cold start; the chain itself is already committed.
        await writeChainHint(store, head, now()).catch(() => undefined);
        return;
      }
      result.conflicts += 1;
      head = await readChainHead(store, head.seq);
    }
    throw new AuditChainConflictError(`could not claim a chain entry in ${maxAttempts} attempts`);
  }

  return {
    async append(records) {
      const result: AppendResult = { batches: [], duplicates: 0, conflicts: 0 };
      const byPartition = new Map<string, Map<string, ArchivableRecord>>();
      for (const record of records) {
        const partitionKey = `${record.partition.dt}/${record.partition.hour}`;
        let group = byPartition.get(partitionKey);
        if (!group) byPartition.set(partitionKey, (group = new Map()));
        if (group.has(record.requestId)) result.duplicates += 1;
        else group.set(record.requestId, record);
      }
      for (const partitionKey of [...byPartition.keys()].sort()) {
        await commitPartition([...byPartition.get(partitionKey)!.values()], result);
      }
      return result;
    },
  };
}

interface BuiltBatch {
  entry: ChainEntry;
  entryBytes: Uint8Array;
  objectBytes: Uint8Array;
}

function buildBatch(records: ArchivableRecord[], head: ChainHead, now: Date): BuiltBatch {
  const sorted = [...records].sort((a, b) => (a.requestId < b.requestId ? -1 : 1));
  const text = `${sorted.map((record) => record.line).join('\n')}\n`;
  const recordsSha256 = sha256Hex(text);
  const objectBytes = gzipSync(encoder.encode(text));
  const first = sorted[0]!;
  const last = sorted.at(-1)!;
  const seq = head.seq + 1;
  const entry: ChainEntry = {
    version: 1,
    seq,
    previousSha256: head.sha256,
    dataKey: batchObjectKey({
      partition: first.partition,
      firstRequestId: first.requestId,
      lastRequestId: last.requestId,
      seq,
      recordsHashPrefix: recordsSha256.slice(0, 16),
    }),
    partition: first.partition,
    objectSha256: sha256Hex(objectBytes),
    recordsSha256,
    recordCount: sorted.length,
    firstRequestId: first.requestId,
    lastRequestId: last.requestId,
    createdAt: now.toISOString(),
    records: sorted.map((record) => [record.requestId, sha256Hex(record.line)]),
  };
  return { entry, entryBytes: encoder.encode(JSON.stringify(entry)), objectBytes };
}
