/**
 * Where everything of the audit log lives in its bucket. All of it sits under `audit/`, so one
 * IAM resource pattern and one lifecycle rule cover it:
 *
 * - `audit/v1/dt=YYYY-MM-DD/hour=HH/<first-id>_<last-id>_<seq>_<hash>.jsonl.gz`: batch objects, gzip
 *   JSON lines, one record per line sorted by request id, partitioned by the records' own time
 *   (the Glue table's location; nothing else lives under `audit/v1/`);
 * - `audit/chain/v1/<seq>.json`: the chain, one entry per batch object (hash of its records, of the
 *   object and of the previous entry);
 * - `audit/digest/v1/dt=YYYY-MM-DD/<end-time>.json`: signed digests of the chain (as CloudTrail's);
 * - `audit/bodies/v1/<sha256>.json`: bodies too large for the queue, by their hash;
 * - `audit/state/chain-head.json`: a hint of the chain's last sequence number (never trusted).
 */
export const AUDIT_RECORDS_PREFIX = 'audit/v1/';
export const AUDIT_CHAIN_PREFIX = 'audit/chain/v1/';
export const AUDIT_DIGEST_PREFIX = 'audit/digest/v1/';
export const AUDIT_BODIES_PREFIX = 'audit/bodies/v1/';
export const AUDIT_CHAIN_HINT_KEY = 'audit/state/chain-head.json';

/** An hour of the log: the unit of partitioning. */
export interface AuditPartition {
  /** `YYYY-MM-DD` (UTC). */
  dt: string;
  /** `00`-`23` (UTC). */
  hour: string;
}

export const HOUR_MS = 3_600_000;

export function partitionOf(time: Date): AuditPartition {
  const iso = time.toISOString();
  return { dt: iso.slice(0, 10), hour: iso.slice(11, 13) };
}

export function partitionStart(partition: AuditPartition): Date {
  return new Date(`${partition.dt}T${partition.hour}:00:00.000Z`);
}

export function partitionPrefix(partition: AuditPartition): string {
  return `${AUDIT_RECORDS_PREFIX}dt=${partition.dt}/hour=${partition.hour}/`;
}

/** Every hour partition that overlaps `[from, to)`, oldest first. */
export function partitionsBetween(from: Date, to: Date): AuditPartition[] {
  const partitions: AuditPartition[] = [];
  for (let t = Math.floor(from.getTime() / HOUR_MS) * HOUR_MS; t < to.getTime(); t += HOUR_MS) {
    partitions.push(partitionOf(new Date(t)));
  }
  return partitions;
}

const SEQ_DIGITS = 12;

function padSeq(seq: number): string {
  return String(seq).padStart(SEQ_DIGITS, '0');
}

/** What a batch object's key says about it, so readers can pick objects without opening them. */
export interface BatchObjectName {
  key: string;
  partition: AuditPartition;
  firstRequestId: string;
  lastRequestId: string;
  seq: number;
  /** The first 16 hex digits of the SHA-256 of its records. */
  recordsHashPrefix: string;
}

export function batchObjectKey(name: Omit<BatchObjectName, 'key'>): string {
  return (
    `${partitionPrefix(name.partition)}${name.firstRequestId}_${name.lastRequestId}_` +
    `${padSeq(name.seq)}_${name.recordsHashPrefix}.jsonl.gz`
  );
}

const BATCH_KEY =
  /^audit\/v1\/dt=(\d{4}-\d{2}-\d{2})\/hour=(\d{2})\/([0-9a-f-]{36})_([0-9a-f-]{36})_(\d{12})_([0-9a-f]{16})\.jsonl\.gz$/;

/** Reads a batch object's key; `undefined` for anything that is not one. */
export function parseBatchObjectKey(key: string): BatchObjectName | undefined {
  const match = BATCH_KEY.exec(key);
  if (!match) return undefined;
  const [, dt, hour, firstRequestId, lastRequestId, seq, recordsHashPrefix] = match as unknown as string[];
  return { key, partition: { dt: dt!, hour: hour! }, firstRequestId: firstRequestId!, lastRequestId: lastRequestId!, seq: Number(seq), recordsHashPrefix: recordsHashPrefix! };
}

export function chainEntryKey(seq: number): string {
  return `${AUDIT_CHAIN_PREFIX}${padSeq(seq)}.json`;
}

export function parseChainEntryKey(key: string): number | undefined {
  const match = /^audit\/chain\/v1\/(\d{12})\.json$/.exec(key);
  return match ? Number(match[1]) : undefined;
}

/** A digest is named by the end of the period it covers: `audit/digest/v1/dt=2026-11-21/20261121T100000Z.json`. */
export function digestKey(endTime: Date): string {
  const iso = endTime.toISOString();
  const compact = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  return `${AUDIT_DIGEST_PREFIX}dt=${iso.slice(0, 10)}/${compact}.json`;
}

export function digestDayPrefix(day: Date): string {
  return `${AUDIT_DIGEST_PREFIX}dt=${day.toISOString().slice(0, 10)}/`;
}

export function bodyObjectKey(sha256: string): string {
  return `${AUDIT_BODIES_PREFIX}${sha256}.json`;
}

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Whether a string is a (lower-case) UUIDv7, the shape of every modelgate request id. */
export function isRequestId(candidate: string): boolean {
  return UUID_V7.test(candidate);
}

/**
 * The time a UUIDv7 request id was minted (its first 48 bits are Unix milliseconds): request ids
 * are time-ordered, so one id names the one partition to read.
 */
export function requestIdTime(requestId: string): Date | undefined {
  if (!isRequestId(requestId)) return undefined;
  return new Date(Number.parseInt(requestId.slice(0, 8) + requestId.slice(9, 13), 16));
}
