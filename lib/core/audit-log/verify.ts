import type { KeyObject } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import type { ObjectStore } from '../../ports/object-store';
import { requestIdOfLine } from './archivable-record';
import { listBatchObjects } from './archived-index';
import { chainSeqsAfter, readChainEntry } from './chain';
import type { ChainEntry } from './chain-entry';
import { digestKeysBetween, digestSignatureIsValid, findLatestDigest, readDigest, type DigestBatch, type StoredDigest } from './digest';
import { chainEntryKey, parseBatchObjectKey, partitionsBetween, requestIdTime, type AuditPartition } from './layout';
import { sha256Hex } from './sha256';

/** What `verify` can find wrong. Warnings are harmless leftovers; errors mean the log was changed. */
export type VerifyFindingKind =
  | 'digest-unreadable'
  | 'digest-signature-invalid'
  | 'digest-chain-broken'
  | 'digest-missing'
  | 'chain-broken'
  | 'entry-missing'
  | 'entry-altered'
  | 'entry-unreadable'
  | 'object-missing'
  | 'object-corrupt'
  | 'object-altered'
  | 'object-rewritten'
  | 'record-altered'
  | 'record-missing'
  | 'record-inserted'
  | 'object-unchained'
  | 'object-orphaned';

export interface VerifyFinding {
  severity: 'error' | 'warning';
  kind: VerifyFindingKind;
  /** The object the finding is about (batch object, chain entry or digest). */
  objectKey: string;
  /** 1-based line of the batch object, for record findings. */
  line?: number;
  requestId?: string;
  seq?: number;
  message: string;
}

export interface VerifyOptions {
  /** Start of the period whose records are checked (inclusive). */
  from: Date;
  /** End of the period (exclusive). */
  to: Date;
  /** The digest signing key's public half. */
  publicKey: KeyObject;
  /** When given, digests signed by any other key id are refused. */
  keyId?: string;
  /**
   * How often the deployment signs a digest (default hourly, as deployed). A digest is written
   * for every period, records or none, so a newest digest older than this (and a grace for the
   * scheduled run) means the digests after it were removed, and with them, maybe, the log's end.
   */
  digestEveryMs?: number;
  /** How many days the bucket keeps objects (the stage's `auditRetentionDays`; default 30): older digests may be gone. */
  retentionDays?: number;
  now?: Date;
}

export interface VerifyReport {
  ok: boolean;
  from: string;
  to: string;
  digests: { checked: number; validSignatures: number; lastDigestKey: string | null; lastSignedSeq: number | null };
  batches: { checked: number; signed: number; unsigned: number };
  records: { checked: number };
  findings: VerifyFinding[];
  /** The first error in time order: the first bad object and record. */
  firstProblem: VerifyFinding | null;
}

interface BatchToCheck {
  seq: number;
  entryKey: string;
  signed: DigestBatch | undefined;
  /** Read from the store (undefined when missing). */
  entry: ChainEntry | undefined;
  dataKey: string;
  partition: AuditPartition;
}

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** How late a scheduled digest may run before its absence counts. */
const DIGEST_GRACE_MS = 15 * 60_000;
/** How long the audit bucket keeps what it holds unless the stage says otherwise (its lifecycle rule). */
const DEFAULT_RETENTION_DAYS = 30;

/**
 * Checks the audit log of `[from, to)` against its chain and its signed digests: every digest's
 * signature and link to the one before, the chain's continuity, every chain entry against the
 * digest that signed it, every batch object against its entry, and every record against its
 * hash, so a changed, removed or added record is named with its object and line. Batch objects
 * in the period that no chain entry names are reported too. Read-only.
 */
export async function verifyAuditLog(store: ObjectStore, options: VerifyOptions): Promise<VerifyReport> {
  const now = options.now ?? new Date();
  const findings: Array<VerifyFinding & { sortKey: string }> = [];
  const report = (finding: VerifyFinding, sortKey = '') => findings.push({ ...finding, sortKey });

  // 1. Digests, from the day before the period up to now: late batches are signed after it.
  const listedFrom = new Date(options.from.getTime() - DAY_MS);
  const digestKeys = await digestKeysBetween(store, listedFrom, now);
  const digestEveryMs = options.digestEveryMs ?? HOUR_MS;
  // Digests older than the log's retention may be gone by design (S3 expires nothing younger): a
  // link to one is not a removal.
  const expiredBefore = now.getTime() - (options.retentionDays ?? DEFAULT_RETENTION_DAYS) * DAY_MS;
  const digestKeySet = new Set(digestKeys);
  const signed = new Map<number, DigestBatch>();
  let previous: StoredDigest | undefined;
  let lastValid: StoredDigest | undefined;
  let validSignatures = 0;
  for (const key of digestKeys) {
    const digest = await readDigest(store, key);
    if (!digest) {
      report({ severity: 'error', kind: 'digest-unreadable', objectKey: key, message: `digest ${key} is not a readable digest` });
      previous = undefined;
      continue;
    }
    const validKey = options.keyId === undefined || digest.signature.keyId === options.keyId;
    if (!isTrusted(digest, options)) {
      report({
        severity: 'error',
        kind: 'digest-signature-invalid',
        objectKey: key,
        message: validKey ? `digest ${key}: signature does not verify with the audit signing key` : `digest ${key} is signed by ${digest.signature.keyId}, not ${options.keyId}`,
      });
    } else {
      validSignatures += 1;
      lastValid = digest;
      for (const batch of digest.payload.batches) signed.set(batch.seq, batch);
    }
    const link = digest.payload.previousDigest;
    const linkedEnd = digest.payload.digestStartTime === null ? Number.NaN : Date.parse(digest.payload.digestStartTime);
    // The digest it follows ends where it starts: one within the listed range that is not listed
    // was removed (with the log's start of the period it signed, perhaps).
    const linkListed = linkedEnd >= listedFrom.getTime() && linkedEnd > expiredBefore;
    if (link && !previous && !digestKeySet.has(link.key) && (linkListed || link.key >= (digestKeys[0] ?? ''))) {
      report({ severity: 'error', kind: 'digest-missing', objectKey: link.key, message: `digest ${link.key}, which ${key} follows, is missing` });
    } else if (link && previous) {
      const broken =
        link.key !== previous.key ||
        link.sha256 !== previous.sha256 ||
        link.signature !== previous.signature.signature ||
        digest.payload.chain.afterSeq !== previous.payload.chain.headSeq;
      if (broken) {
        report({
          severity: 'error',
          kind: link.key === previous.key ? 'digest-chain-broken' : 'digest-missing',
          objectKey: link.key === previous.key ? key : link.key,
          message:
            link.key === previous.key
              ? `digest ${key} does not follow ${previous.key} (hash, signature or chain position differs)`
              : `digest ${key} follows ${link.key}, but the digest before it is ${previous.key}: ${link.key} is missing`,
        });
      }
    }
    // The first digest of a chain signs what was archived since the deployment began, within a
    // period. One that signs older batches started a new chain over an existing log: every digest
    // before it was removed (the digest function starts afresh when it finds none).
    if (link === null) {
      let oldest = Number.POSITIVE_INFINITY;
      for (const batch of digest.payload.batches) {
        const minted = batch.firstRequestId === undefined ? undefined : requestIdTime(batch.firstRequestId)?.getTime();
        if (minted !== undefined && minted < oldest) oldest = minted;
      }
      if (Date.parse(digest.payload.digestEndTime) - oldest > digestEveryMs + DIGEST_GRACE_MS) {
        report({
          severity: 'error',
          kind: 'digest-missing',
          objectKey: key,
          message: `digest ${key} starts a new digest chain but signs batches from ${new Date(oldest).toISOString()}, more than one period earlier: the digests before it were removed`,
        });
      }
    }
    // One digest is signed every period: one covering much more stands where removed digests were,
    // and the log of that time may have been rewritten before it was signed.
    if (!Number.isNaN(linkedEnd) && Date.parse(digest.payload.digestEndTime) - linkedEnd > digestEveryMs + DIGEST_GRACE_MS) {
      report({
        severity: 'error',
        kind: 'digest-missing',
        objectKey: key,
        message:
          `digest ${key} signs the log from ${digest.payload.digestStartTime} to ${digest.payload.digestEndTime}, more than one ` +
          `${formatInterval(digestEveryMs)} period: the digests between are missing (removed, or not made), and the log of that time may have been rewritten before it was signed`,
      });
    }
    previous = digest;
  }
  const lastSignedSeq = lastValid ? lastValid.payload.chain.headSeq : null;

  // 1b. The digests must reach the present (or the period's end): cutting the log's end off, its
  // newest digests, chain entries and batches together, leaves nothing else to notice.
  // With none in the window, the newest before it stands for the log's end (none within a month: a new log).
  const newest = digestKeys.length > 0 ? lastValid : await validDigestBefore(store, listedFrom, options);
  const mustBeSignedUntil = Math.min(options.to.getTime(), now.getTime() - digestEveryMs - DIGEST_GRACE_MS);
  if (newest && Date.parse(newest.payload.digestEndTime) < mustBeSignedUntil) {
    report({
      severity: 'error',
      kind: 'digest-missing',
      objectKey: newest.key,
      message:
        `the newest digest, ${newest.key}, signs the log up to ${newest.payload.digestEndTime}, but one is signed every ` +
        `${formatInterval(digestEveryMs)}: the digests after it are missing, and the log after that time may have been cut off`,
    });
  }

  // 2. The chain as the digests signed it must be continuous, and every entry in it readable.
  const signedSeqs = [...signed.keys()].sort((a, b) => a - b);
  for (const batch of signed.values()) {
    if (batch.unreadable || batch.dataKey === undefined) {
      report({
        severity: 'error',
        kind: 'entry-unreadable',
        objectKey: batch.entryKey,
        seq: batch.seq,
        message: `chain entry ${batch.seq} was not a readable entry when a digest signed it: what it stood for cannot be checked`,
      }, batch.entryKey);
    }
  }
  for (let i = 1; i < signedSeqs.length; i += 1) {
    const batch = signed.get(signedSeqs[i]!)!;
    const before = signed.get(signedSeqs[i - 1]!)!;
    if (batch.seq !== before.seq + 1 || (batch.previousSha256 !== undefined && batch.previousSha256 !== before.entrySha256)) {
      report({ severity: 'error', kind: 'chain-broken', objectKey: batch.entryKey, seq: batch.seq, message: `chain entry ${batch.seq} does not follow entry ${before.seq} in the signed digests` }, batch.dataKey ?? batch.entryKey);
    }
  }

  // 3. Entries after the last signed one: checked by the chain alone (not signed yet).
  const unsignedEntries = new Map<number, ChainEntry | undefined>();
  let previousSha = lastSignedSeq !== null ? lastValid?.payload.chain.headSha256 : undefined;
  let previousSeq = lastSignedSeq ?? undefined;
  for await (const seq of chainSeqsAfter(store, lastSignedSeq ?? 0)) {
    const stored = await readChainEntry(store, seq);
    if (!stored?.entry) {
      report({ severity: 'error', kind: 'entry-unreadable', objectKey: chainEntryKey(seq), seq, message: `chain entry ${seq} is not a readable entry` });
      previousSha = stored?.sha256;
      previousSeq = seq;
      unsignedEntries.set(seq, undefined);
      continue;
    }
    if ((previousSeq !== undefined && seq !== previousSeq + 1) || (previousSha !== undefined && stored.entry.previousSha256 !== previousSha)) {
      report({
        severity: 'error',
        kind: 'chain-broken',
        objectKey: chainEntryKey(seq),
        seq,
        message: previousSeq !== undefined && seq !== previousSeq + 1 ? `chain entries ${previousSeq + 1}..${seq - 1} are missing` : `chain entry ${seq} does not link to entry ${previousSeq}`,
      }, stored.entry.dataKey);
    }
    unsignedEntries.set(seq, stored.entry);
    previousSha = stored.sha256;
    previousSeq = seq;
  }

  // 4. Every batch of the period: entry against digest, object against entry, records against hashes.
  const partitions = partitionsBetween(options.from, options.to);
  const inPeriod = new Set(partitions.map((p) => `${p.dt}/${p.hour}`));
  const partitionOfKey = (dataKey: string | undefined) => {
    const name = dataKey ? parseBatchObjectKey(dataKey) : undefined;
    return name && inPeriod.has(`${name.partition.dt}/${name.partition.hour}`) ? name.partition : undefined;
  };
  const toCheck: BatchToCheck[] = [];
  for (const batch of signed.values()) {
    const partition = partitionOfKey(batch.dataKey);
    if (partition) toCheck.push({ seq: batch.seq, entryKey: batch.entryKey, signed: batch, entry: undefined, dataKey: batch.dataKey!, partition });
  }
  for (const [seq, entry] of unsignedEntries) {
    const partition = partitionOfKey(entry?.dataKey);
    if (entry && partition && !signed.has(seq)) toCheck.push({ seq, entryKey: chainEntryKey(seq), signed: undefined, entry, dataKey: entry.dataKey, partition });
  }
  toCheck.sort((a, b) => (a.dataKey < b.dataKey ? -1 : a.dataKey > b.dataKey ? 1 : 0));

  const chainedKeys = new Set(toCheck.map((batch) => batch.dataKey));
  const chainedRecords = new Set<string>();
  let recordsChecked = 0;
  for (const batch of toCheck) {
    let entry = batch.entry;
    if (batch.signed) {
      const stored = await readChainEntry(store, batch.seq);
      if (!stored) {
        report({ severity: 'error', kind: 'entry-missing', objectKey: batch.entryKey, seq: batch.seq, message: `chain entry ${batch.seq} (signed) is missing` }, batch.dataKey);
      } else if (stored.sha256 !== batch.signed.entrySha256) {
        report({ severity: 'error', kind: 'entry-altered', objectKey: batch.entryKey, seq: batch.seq, message: `chain entry ${batch.seq} differs from the one the digest signed` }, batch.dataKey);
      } else if (!stored.entry) {
        report({ severity: 'error', kind: 'entry-unreadable', objectKey: batch.entryKey, seq: batch.seq, message: `chain entry ${batch.seq} is not a readable entry` }, batch.dataKey);
      }
      // An altered entry's record list is still the best guide to which record changed.
      entry = stored?.entry;
    }
    const expected = {
      objectSha256: batch.signed?.objectSha256 ?? entry?.objectSha256,
      recordsSha256: batch.signed?.recordsSha256 ?? entry?.recordsSha256,
      records: entry?.records,
      recordCount: batch.signed?.recordCount ?? entry?.recordCount ?? 0,
    };
    for (const [id, hash] of expected.records ?? []) chainedRecords.add(`${id}:${hash}`);
    const bytes = await store.get(batch.dataKey);
    if (!bytes) {
      report({ severity: 'error', kind: 'object-missing', objectKey: batch.dataKey, seq: batch.seq, message: `batch object is missing (${expected.recordCount} records, chain entry ${batch.seq})` }, batch.dataKey);
      continue;
    }
    recordsChecked += expected.recordCount;
    if (sha256Hex(bytes) === expected.objectSha256) continue;

    const lines = linesOf(bytes);
    if (!lines) {
      report({ severity: 'error', kind: 'object-corrupt', objectKey: batch.dataKey, seq: batch.seq, message: 'batch object is not gzip JSON lines any more' }, batch.dataKey);
      continue;
    }
    const before = findings.length;
    if (expected.records) compareRecords(batch.dataKey, batch.seq, lines, expected.records, (finding) => report(finding, batch.dataKey));
    if (findings.length === before) {
      const sameRecords = sha256Hex(lines.length > 0 ? `${lines.join('\n')}\n` : '') === expected.recordsSha256;
      report(
        sameRecords
          ? { severity: 'warning', kind: 'object-rewritten', objectKey: batch.dataKey, seq: batch.seq, message: 'batch object was rewritten with the same records (e.g. recompressed)' }
          : { severity: 'error', kind: 'object-altered', objectKey: batch.dataKey, seq: batch.seq, message: 'batch object differs from its chain entry' },
        batch.dataKey,
      );
    }
  }

  // 5. Batch objects of the period that no chain entry names.
  for (const partition of partitions) {
    for (const name of await listBatchObjects(store, partition)) {
      if (chainedKeys.has(name.key)) continue;
      const bytes = await store.get(name.key);
      const lines = bytes ? linesOf(bytes) : undefined;
      const unknown = lines?.findIndex((line) => !chainedRecords.has(`${requestIdOfLine(line) ?? ''}:${sha256Hex(line)}`));
      if (lines && unknown === -1) {
        report({ severity: 'warning', kind: 'object-orphaned', objectKey: name.key, message: `batch object is not in the chain, but all ${lines.length} of its records are (left by an interrupted or superseded write)` }, name.key);
      } else {
        const line = unknown === undefined || unknown < 0 ? undefined : unknown + 1;
        const requestId = line !== undefined ? requestIdOfLine(lines![line - 1]!) : undefined;
        report({
          severity: 'error',
          kind: 'object-unchained',
          objectKey: name.key,
          ...(line !== undefined ? { line } : {}),
          ...(requestId !== undefined ? { requestId } : {}),
          message: line !== undefined ? `batch object is not in the chain; line ${line} is a record the chain does not hold` : 'batch object is not in the chain and cannot be read',
        }, name.key);
      }
    }
  }

  const ordered = findings
    .map((finding, order) => ({ finding, order }))
    .sort((a, b) => compareFindings(a.finding, b.finding) || a.order - b.order)
    .map(({ finding: { sortKey: _sortKey, ...finding } }) => finding);
  const firstProblem = ordered.find((finding) => finding.severity === 'error') ?? null;
  const signedChecked = toCheck.filter((batch) => batch.signed).length;
  return {
    ok: firstProblem === null,
    from: options.from.toISOString(),
    to: options.to.toISOString(),
    digests: { checked: digestKeys.length, validSignatures, lastDigestKey: lastValid?.key ?? null, lastSignedSeq },
    batches: { checked: toCheck.length, signed: signedChecked, unsigned: toCheck.length - signedChecked },
    records: { checked: recordsChecked },
    findings: ordered,
    firstProblem,
  };
}

/** Signed by the audit key (and by the key id asked for, when one is). */
function isTrusted(digest: StoredDigest, options: VerifyOptions): boolean {
  return (options.keyId === undefined || digest.signature.keyId === options.keyId) && digestSignatureIsValid(digest, options.publicKey);
}

async function validDigestBefore(store: ObjectStore, before: Date, options: VerifyOptions): Promise<StoredDigest | undefined> {
  const digest = await findLatestDigest(store, before);
  return digest && isTrusted(digest, options) ? digest : undefined;
}

function formatInterval(ms: number): string {
  return ms % HOUR_MS === 0 ? `${ms / HOUR_MS} h` : `${Math.round(ms / 60_000)} min`;
}

/** Digest findings first (they undermine everything after them), then by object and line: time order. */
function compareFindings(a: VerifyFinding & { sortKey: string }, b: VerifyFinding & { sortKey: string }): number {
  const digestA = a.kind.startsWith('digest-') ? 0 : 1;
  const digestB = b.kind.startsWith('digest-') ? 0 : 1;
  if (digestA !== digestB) return digestA - digestB;
  const keyA = a.sortKey || a.objectKey;
  const keyB = b.sortKey || b.objectKey;
  if (keyA !== keyB) return keyA < keyB ? -1 : 1;
  return (a.line ?? 0) - (b.line ?? 0);
}

function linesOf(gzipped: Uint8Array): string[] | undefined {
  try {
    const text = gunzipSync(gzipped).toString('utf8');
    const lines = text.split('\n');
    if (lines.at(-1) === '') lines.pop();
    return lines;
  } catch {
    return undefined;
  }
}

/** Names each changed, removed and added record by its line. */
function compareRecords(
  objectKey: string,
  seq: number,
  lines: readonly string[],
  expected: ReadonlyArray<readonly [string, string]>,
  report: (finding: VerifyFinding) => void,
): void {
  const expectedById = new Map(expected.map(([id, hash], index) => [id, { hash, line: index + 1 }]));
  const seen = new Set<string>();
  lines.forEach((line, index) => {
    const lineNumber = index + 1;
    const id = requestIdOfLine(line);
    const wanted = id !== undefined ? expectedById.get(id) : undefined;
    if (id !== undefined && wanted && !seen.has(id)) {
      seen.add(id);
      if (sha256Hex(line) !== wanted.hash) {
        report({ severity: 'error', kind: 'record-altered', objectKey, seq, line: lineNumber, requestId: id, message: `record ${id} at line ${lineNumber} was changed` });
      }
      return;
    }
    report({
      severity: 'error',
      kind: 'record-inserted',
      objectKey,
      seq,
      line: lineNumber,
      ...(id !== undefined ? { requestId: id } : {}),
      message: `line ${lineNumber} (${id ?? 'not a record'}) was added: chain entry ${seq} does not hold it`,
    });
  });
  for (const [id, { line }] of expectedById) {
    if (!seen.has(id)) {
      report({ severity: 'error', kind: 'record-missing', objectKey, seq, line, requestId: id, message: `record ${id} (line ${line} when archived) was removed` });
    }
  }
}
