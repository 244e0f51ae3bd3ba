import type { ObjectStore } from '../../ports/object-store';
import { parseChainEntry, type ChainEntry } from './chain-entry';
import { AUDIT_CHAIN_HINT_KEY, AUDIT_CHAIN_PREFIX, chainEntryKey, parseChainEntryKey } from './layout';
import { GENESIS_SHA256, sha256Hex } from './sha256';

/** The last entry of the chain: the next batch links to it. */
export interface ChainHead {
  /** 0 for an empty chain. */
  seq: number;
  /** SHA-256 of the last entry's bytes ({@link GENESIS_SHA256} for an empty chain). */
  sha256: string;
}

export const EMPTY_CHAIN: ChainHead = { seq: 0, sha256: GENESIS_SHA256 };

/** Sequence numbers of the chain entries after `afterSeq`, ascending. */
export async function* chainSeqsAfter(store: ObjectStore, afterSeq: number): AsyncIterable<number> {
  const options = afterSeq > 0 ? { startAfter: chainEntryKey(afterSeq) } : {};
  for await (const object of store.list(AUDIT_CHAIN_PREFIX, options)) {
    const seq = parseChainEntryKey(object.key);
    if (seq !== undefined) yield seq;
  }
}

/** One stored entry, with the hash of its bytes. `entry` is undefined when the bytes are not an entry. */
export interface StoredChainEntry {
  seq: number;
  bytes: Uint8Array;
  sha256: string;
  entry: ChainEntry | undefined;
}

export async function readChainEntry(store: ObjectStore, seq: number): Promise<StoredChainEntry | undefined> {
  const bytes = await store.get(chainEntryKey(seq));
  if (!bytes) return undefined;
  return { seq, bytes, sha256: sha256Hex(bytes), entry: parseChainEntry(bytes) };
}

/**
 * Finds the chain's last entry. Starts from `knownSeq` (what this container last saw) or the
 * head hint, and lists forward from there, so a stale hint only costs a longer listing.
 */
export async function readChainHead(store: ObjectStore, knownSeq?: number): Promise<ChainHead> {
  const start = knownSeq ?? (await readChainHint(store));
  let last: number | undefined;
  for await (const seq of chainSeqsAfter(store, Math.max(0, start - 1))) last = seq;
  if (last === undefined && start > 1) {
    // The hint pointed past the chain (it is only a hint): look from the beginning.
    for await (const seq of chainSeqsAfter(store, 0)) last = seq;
  }
  if (last === undefined) return EMPTY_CHAIN;
  const stored = await readChainEntry(store, last);
  if (!stored) throw new Error(`chain entry ${last} was listed but cannot be read`);
  return { seq: last, sha256: stored.sha256 };
}

async function readChainHint(store: ObjectStore): Promise<number> {
  try {
    const bytes = await store.get(AUDIT_CHAIN_HINT_KEY);
    if (!bytes) return 0;
    const hint = JSON.parse(new TextDecoder().decode(bytes)) as { seq?: unknown };
    return typeof hint.seq === 'number' && Number.isSafeInteger(hint.seq) && hint.seq > 0 ? hint.seq : 0;
  } catch {
    return 0;
  }
}

/** Records where the chain ended, so a cold archiver does not list the whole chain. Best effort. */
export async function writeChainHint(store: ObjectStore, head: ChainHead, now: Date): Promise<void> {
  const body = new TextEncoder().encode(JSON.stringify({ seq: head.seq, sha256: head.sha256, updatedAt: now.toISOString() }));
  await store.put(AUDIT_CHAIN_HINT_KEY, body, { contentType: 'application/json' });
}
