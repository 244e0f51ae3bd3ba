import { gunzipSync } from 'node:zlib';
import type { ObjectStore } from '../../ports/object-store';
import type { AuditedBody, AuditRecord } from '../audit-record';
import { isChained, listBatchObjects } from './archived-index';
import { HOUR_MS, partitionOf, partitionsBetween, requestIdTime, type BatchObjectName } from './layout';
import { sha256Hex } from './sha256';

/** Which records to find. Every field but the period is optional; given fields must all match. */
export interface AuditSearchQuery {
  /** Inclusive. */
  from: Date;
  /** Exclusive. */
  to: Date;
  tenant?: string;
  keyId?: string;
  endpoint?: string;
  /** An exact status (`404`) or a class (`4xx`). */
  status?: string;
  /** Case-insensitive substring of the record's JSON (bodies included). */
  text?: string;
  kind?: AuditRecord['kind'];
  /** At most this many records (oldest first). */
  limit: number;
  /** Only records whose request id sorts after this one: the cursor of the previous page. */
  after?: string;
}

export interface AuditSearchResult {
  records: AuditRecord[];
  /** Set when more records match: pass it as `after` for the next page. */
  next: string | null;
  scanned: { objects: number; records: number };
}

/**
 * Searches the records of a period, oldest first. Reads only the hour partitions of the period
 * and, within them, only chained batch objects that can hold ids after the cursor. Objects overlap in
 * their id ranges, so an object is skipped only once enough older matches are in hand.
 */
export async function searchAuditLog(store: ObjectStore, query: AuditSearchQuery): Promise<AuditSearchResult> {
  const matchesStatus = statusMatcher(query.status);
  // Lines are JSON text: the needle is escaped as the line is, so a quote or a backslash matches.
  const needle = query.text === undefined ? undefined : JSON.stringify(query.text).slice(1, -1).toLowerCase();
  const seen = new Set<string>();
  let results: AuditRecord[] = [];
  const scanned = { objects: 0, records: 0 };
  let more = false;
  const byId = (a: AuditRecord, b: AuditRecord) => (a.requestId < b.requestId ? -1 : 1);

  for (const partition of partitionsBetween(query.from, query.to)) {
    // A full page: later partitions only hold later records, so there may be more, no need to look.
    if (results.length >= query.limit) break;
    const objects = (await listBatchObjects(store, partition))
      .filter((name) => query.after === undefined || name.lastRequestId > query.after)
      .sort((a, b) => (a.firstRequestId < b.firstRequestId ? -1 : a.firstRequestId > b.firstRequestId ? 1 : 0));
    for (const object of objects) {
      // Enough matches, and this object (and every later one) starts after the last of them.
      if (results.length >= query.limit && object.firstRequestId > results[query.limit - 1]!.requestId) break;
      if (!(await isChained(store, object))) continue;
      const lines = await readLines(store, object.key);
      scanned.objects += 1;
      for (const line of lines) {
        scanned.records += 1;
        if (needle !== undefined && !line.toLowerCase().includes(needle)) continue;
        const record = JSON.parse(line) as AuditRecord;
        if (query.after !== undefined && record.requestId <= query.after) continue;
        const time = Date.parse(record.time);
        if (time < query.from.getTime() || time >= query.to.getTime()) continue;
        if (query.tenant !== undefined && record.tenant !== query.tenant) continue;
        if (query.keyId !== undefined && record.keyId !== query.keyId) continue;
        if (query.endpoint !== undefined && record.endpoint !== query.endpoint) continue;
        if (query.kind !== undefined && record.kind !== query.kind) continue;
        if (!matchesStatus(record.status)) continue;
        // A record in two chained objects (never written so by the archiver) is shown once.
        if (seen.has(record.requestId)) continue;
        seen.add(record.requestId);
        results.push(record);
      }
      results.sort(byId);
      if (results.length > query.limit) {
        results = results.slice(0, query.limit);
        more = true;
      }
    }
  }
  // A full page may be followed by more matches (the next page may also turn out empty).
  if (results.length >= query.limit) more = true;
  return { records: results, next: more && results.length > 0 ? results.at(-1)!.requestId : null, scanned };
}

function statusMatcher(status: string | undefined): (value: number) => boolean {
  if (status === undefined) return () => true;
  const statusClass = /^([1-5])xx$/i.exec(status);
  if (statusClass) {
    const hundreds = Number(statusClass[1]);
    return (value) => Math.floor(value / 100) === hundreds;
  }
  const exact = Number(status);
  return (value) => value === exact;
}

/** Where a record was found. */
export interface FoundAuditRecord {
  record: AuditRecord;
  objectKey: string;
  /** 1-based line of the batch object. */
  line: number;
}

/**
 * Finds one record by request id. The id's own timestamp names the hour partition, and the
 * object keys' id ranges name the object, so this reads one listing and (usually) one object.
 * The neighbouring hours are tried only when the id was minted within a minute of an hour's edge
 * (an id minted at 09:59:59.999 can belong to a request received at 10:00:00.000).
 */
export async function findAuditRecord(store: ObjectStore, requestId: string): Promise<FoundAuditRecord | undefined> {
  const minted = requestIdTime(requestId);
  if (!minted) return undefined;
  const partitions = [partitionOf(minted)];
  const intoHour = minted.getTime() % HOUR_MS;
  if (intoHour < 60_000) partitions.push(partitionOf(new Date(minted.getTime() - HOUR_MS)));
  if (intoHour > HOUR_MS - 60_000) partitions.push(partitionOf(new Date(minted.getTime() + HOUR_MS)));
  for (const partition of partitions) {
    const candidates = (await listBatchObjects(store, partition)).filter(
      (name: BatchObjectName) => name.firstRequestId <= requestId && requestId <= name.lastRequestId,
    );
    for (const candidate of candidates) {
      if (!(await isChained(store, candidate))) continue;
      const found = findInObject(await readLines(store, candidate.key), requestId);
      if (found) return { record: found.record, objectKey: candidate.key, line: found.line };
    }
  }
  return undefined;
}

function findInObject(lines: readonly string[], requestId: string): { record: AuditRecord; line: number } | undefined {
  const marker = `"requestId":"${requestId}"`;
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i]!;
    if (!line.includes(marker)) continue;
    const record = JSON.parse(line) as AuditRecord;
    if (record.requestId === requestId) return { record, line: i + 1 };
  }
  return undefined;
}

async function readLines(store: ObjectStore, key: string): Promise<string[]> {
  const bytes = await store.get(key);
  if (!bytes) return [];
  const lines = gunzipSync(bytes).toString('utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/**
 * Fetches the bodies a record keeps by reference and checks each against its hash. A body that
 * is missing or does not match its hash is left as a reference, with `error` saying why.
 */
export async function resolveBodyRefs(store: ObjectStore, record: AuditRecord): Promise<AuditRecord> {
  const resolve = async (audited: AuditedBody): Promise<AuditedBody & { error?: string }> => {
    if (!audited.ref) return audited;
    const bytes = await store.get(audited.ref.s3Key);
    if (!bytes) return { ...audited, error: 'the referenced body is missing' };
    if (sha256Hex(bytes) !== audited.ref.sha256) return { ...audited, error: 'the referenced body does not match its hash' };
    return { ...audited, body: JSON.parse(new TextDecoder().decode(bytes)) as unknown };
  };
  return { ...record, request: await resolve(record.request), response: await resolve(record.response) };
}
