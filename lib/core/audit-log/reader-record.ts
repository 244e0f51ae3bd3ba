import { createHash } from 'node:crypto';

/**
 * The request id of an audit read sent through the readers' queue, derived from the record itself
 * (as sent, or as parsed back from the message).
 *
 * The archive keeps one record per request id, and anyone with the auditor policy can send to that
 * queue: a read sent under the id of a served request not yet archived (one waiting in a DLQ for a
 * redrive, say) would have the served record dropped as its duplicate. So such a read carries a
 * UUIDv7 of its own time whose 74 random bits are taken from the SHA-256 of the rest of the record,
 * and the archiver recomputes it: taking a chosen id means finding a SHA-256 preimage of 74 bits.
 * A redelivered message still carries the same id, so the archive's dedupe works as before.
 *
 * The request and response bodies are left out of the hash: the audit sink may swap a large one
 * for a reference on the way, and the id must come out the same on both sides. Two reads still
 * differ in their time and latency.
 */
export function readerRecordId<Fields extends { readonly time: string }>(record: Fields): string {
  const rest: Record<string, unknown> = { ...record };
  delete rest.requestId;
  delete rest.request;
  delete rest.response;
  const bytes = createHash('sha256').update(JSON.stringify(rest)).digest().subarray(0, 16);
  const msecs = Date.parse(record.time);
  // RFC 9562 UUIDv7: 48 bits of Unix milliseconds, version 7, variant 10, the rest from the hash.
  for (let i = 0; i < 6; i += 1) bytes[i] = Math.floor(msecs / 2 ** (8 * (5 - i))) % 256;
  bytes[6] = 0x70 | (bytes[6]! & 0x0f);
  bytes[8] = 0x80 | (bytes[8]! & 0x3f);
  const hex = Buffer.from(bytes).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
