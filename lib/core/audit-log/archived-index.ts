import type { ObjectStore } from '../../ports/object-store';
import type { ArchivableRecord } from './archivable-record';
import { parseChainEntry, type ChainEntry } from './chain-entry';
import { chainEntryKey, parseBatchObjectKey, partitionPrefix, type AuditPartition, type BatchObjectName } from './layout';

/**
 * Which request ids are already in the log, so a redelivered or duplicated message never becomes
 * a second record. The markers are the chain entries themselves: a batch object counts only when
 * the chain entry of its sequence number names it (a batch object left behind by an interrupted
 * or superseded commit does not). Batch object keys carry their first and last request id, so a
 * record is looked up only in the objects whose range holds it, usually none.
 */
export interface ArchivedIndex {
  /** The records that are not yet in a chained batch object (all of one partition). */
  filterUnarchived(records: readonly ArchivableRecord[]): Promise<ArchivableRecord[]>;
  /** A batch this container just chained, so it is never read back. */
  remember(entry: ChainEntry): void;
}

export interface ArchivedIndexOptions {
  /** Request ids kept in memory across invocations of a warm container. */
  maxCachedIds?: number;
}

export function createArchivedIndex(store: ObjectStore, options: ArchivedIndexOptions = {}): ArchivedIndex {
  const maxCachedIds = options.maxCachedIds ?? 500_000;
  // Batch object key → its request ids, or null for an object no chain entry names. Immutable
  // objects, so entries never go stale; the oldest are evicted first.
  const cache = new Map<string, ReadonlySet<string> | null>();
  let cachedIds = 0;

  const keep = (dataKey: string, ids: ReadonlySet<string> | null) => {
    cache.set(dataKey, ids);
    cachedIds += ids?.size ?? 0;
    for (const [key, value] of cache) {
      if (cachedIds <= maxCachedIds) break;
      cache.delete(key);
      cachedIds -= value?.size ?? 0;
    }
  };

  const chainedIds = async (name: BatchObjectName): Promise<ReadonlySet<string> | null> => {
    const cached = cache.get(name.key);
    if (cached !== undefined) return cached;
    const entry = await entryNaming(store, name);
    // Not chained yet (another archiver may be between its two writes): look again next time.
    if (entry === undefined) return null;
    const ids = entry === null ? null : new Set(entry.records.map(([requestId]) => requestId));
    keep(name.key, ids);
    return ids;
  };

  return {
    async filterUnarchived(records) {
      if (records.length === 0) return [];
      const sortedIds = records.map((record) => record.requestId).sort();
      const candidates: BatchObjectName[] = [];
      for (const name of await listBatchObjects(store, records[0]!.partition)) {
        if (holdsAny(name, sortedIds)) candidates.push(name);
      }
      const archived = new Set<string>();
      for (const candidate of candidates) {
        const ids = await chainedIds(candidate);
        if (!ids) continue;
        for (const id of sortedIds) if (ids.has(id)) archived.add(id);
      }
      return archived.size === 0 ? [...records] : records.filter((record) => !archived.has(record.requestId));
    },
    remember(entry) {
      keep(entry.dataKey, new Set(entry.records.map(([requestId]) => requestId)));
    },
  };
}

/**
 * The chain entry of the object's sequence number if it names the object; null when it names
 * another (the object is a leftover, or slipped in); undefined when there is none (not yet).
 */
async function entryNaming(store: ObjectStore, name: BatchObjectName): Promise<ChainEntry | null | undefined> {
  const bytes = await store.get(chainEntryKey(name.seq));
  if (!bytes) return undefined;
  const entry = parseChainEntry(bytes);
  return entry?.dataKey === name.key ? entry : null;
}

/** Batch objects found chained, by store (objects and their entries are immutable: a yes stays a yes). */
const knownChained = new WeakMap<ObjectStore, Set<string>>();

/**
 * Whether the chain entry of the object's sequence number names it: only then is it part of the
 * log. A batch object that is not (a leftover of an interrupted write, or one slipped in by a
 * writer to the bucket) is no record of anything; readers skip it, `verify` reports it.
 */
export async function isChained(store: ObjectStore, name: BatchObjectName): Promise<boolean> {
  let known = knownChained.get(store);
  if (known?.has(name.key)) return true;
  const chained = Boolean(await entryNaming(store, name));
  if (chained) {
    if (!known) knownChained.set(store, (known = new Set()));
    known.add(name.key);
  }
  return chained;
}

/** The batch objects of one partition, as their keys describe them. */
export async function listBatchObjects(store: ObjectStore, partition: AuditPartition): Promise<BatchObjectName[]> {
  const names: BatchObjectName[] = [];
  for await (const object of store.list(partitionPrefix(partition))) {
    const name = parseBatchObjectKey(object.key);
    if (name) names.push(name);
  }
  return names;
}

/** Whether any of the sorted ids falls in the object's [first, last] range (ids sort by time). */
function holdsAny(name: BatchObjectName, sortedIds: readonly string[]): boolean {
  let low = 0;
  let high = sortedIds.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sortedIds[middle]! < name.firstRequestId) low = middle + 1;
    else high = middle;
  }
  return low < sortedIds.length && sortedIds[low]! <= name.lastRequestId;
}
