import { createHash } from 'node:crypto';
import { z } from 'zod';
import { describeIssues } from '../describe-issues';
import { InvalidRequestError } from '../errors';
import { sqsSafeJson } from '../sqs-safe-text';
import type { ArchivableRecord } from './archivable-record';
import { inGatewaySpace } from '../request-id-space';
import { partitionOf } from './layout';

/**
 * The request id of an audit read sent through the readers' queue, derived from the record itself
 * as the archiver receives it: a UUIDv7 of the record's time whose random bits come from the
 * SHA-256 of everything in it but the id. (The CLI derives it too, before sending; where the sink
 * swaps a large body for a reference, the archiver's id, the one that counts, differs.)
 *
 * The archive keeps one record per request id, and anyone with the auditor policy can send to that
 * queue: a read sent under the id of a served request not yet archived (one waiting in a DLQ for a
 * redrive, say) would have the served record dropped as its duplicate. So the archiver files such a
 * read under this id, whatever id it came with; taking a chosen id would mean finding a SHA-256
 * preimage of 74 bits. A redelivered message gives the same id, so the archive's dedupe still works.
 */
export function readerRecordId<Fields extends { readonly time: string }>(record: Fields): string {
  const rest: Record<string, unknown> = { ...record };
  delete rest.requestId;
  const bytes = createHash('sha256').update(JSON.stringify(rest)).digest().subarray(0, 16);
  const msecs = Date.parse(record.time);
  // RFC 9562 UUIDv7: 48 bits of Unix milliseconds, version 7, variant 10, the rest from the hash.
  for (let i = 0; i < 6; i += 1) bytes[i] = Math.floor(msecs / 2 ** (8 * (5 - i))) % 256;
  bytes[6] = 0x70 | (bytes[6]! & 0x0f);
  bytes[8] = 0x80 | (bytes[8]! & 0x3f);
  const hex = Buffer.from(bytes).toString('hex');
  // In the gateway's half of the id space: no producer's message may start a request under a read's id either.
  return inGatewaySpace(`${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`);
}

/**
 * How far a read's own time may be from when SQS took its message: a reader's clock may run ahead
 * by up to an hour, and a read is dated when it starts, which for `audit verify` over a month can
 * be hours before it is recorded.
 */
const READER_AHEAD_MS = 60 * 60_000;
const READER_BEHIND_MS = 7 * 24 * 60 * 60_000;

const count = z.number().int().min(0);
const auditedBodySchema = z.strictObject({
  bytes: count,
  body: z.json().optional(),
  truncated: z.literal(true).optional(),
  ref: z.strictObject({ sha256: z.string().regex(/^[0-9a-f]{64}$/), bytes: count, s3Key: z.string() }).optional(),
});

/**
 * An audit read exactly as the CLI records one (`cli/audited-read.ts`): every member typed, none
 * unknown, so that nothing from the readers' queue can carry a second spelling of a member (which
 * the log's readers, Athena among them, may take in place of the checked one) or a value of the
 * wrong type into a partition.
 */
const auditReadSchema = z.strictObject({
  version: z.literal(1),
  requestId: z.string(),
  time: z.iso.datetime({ offset: true }),
  kind: z.literal('audit-read'),
  // What the CLI writes, and nothing the audit API writes: a read from this queue cannot pass
  // for one the gateway authenticated (an API key, its tenant, the caller's address).
  tenant: z.null(),
  keyId: z.string().nullable(),
  endpoint: z.string().startsWith('cli:'),
  servedEntity: z.null(),
  status: z.number().int().min(100).max(599),
  errorCode: z.string().nullable(),
  errorMessage: z.string().nullable(),
  latencyMs: z.number().min(0),
  backendLatencyMs: z.null(),
  units: z.null(),
  attempts: z.tuple([]),
  streamed: z.literal(false),
  client: z.strictObject({ ip: z.null(), userAgent: z.string().nullable() }),
  request: auditedBodySchema,
  response: auditedBodySchema,
  redaction: z
    .strictObject({
      dropped: count,
      masked: count,
      detected: z.strictObject({ secret: count.optional(), email: count.optional(), phone: count.optional(), card: count.optional() }),
    })
    .optional(),
});

/**
 * Reads a message from the readers' queue (where people and tools outside the gateway may send)
 * into a record to archive. Only an audit read is taken, without a usage event, dated at most an
 * hour after and a week before SQS took the message; it is filed under `readerRecordId`,
 * and its line is the record written anew (one spelling of each member), so nothing sent there can
 * claim a request was served, bill one, or take a served request's id.
 * @throws InvalidRequestError otherwise (the message ends in the DLQ, never in the log or the bill).
 */
export function readerRecordFromMessage(body: string, usageEvent: string | undefined, sentAt: Date): ArchivableRecord {
  if (usageEvent !== undefined) throw new InvalidRequestError("Audit message on the readers' queue carries a usage event; only the gateway bills");
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (cause) {
    throw new InvalidRequestError('Audit message is not JSON', { cause });
  }
  const kind = (parsed as { kind?: unknown } | null)?.kind;
  if (kind !== 'audit-read') {
    throw new InvalidRequestError(`Audit message on the readers' queue is a record of kind ${typeof kind === 'string' ? kind : 'invocation'}; only audit reads are recorded there`);
  }
  const checked = auditReadSchema.safeParse(parsed);
  if (!checked.success) throw new InvalidRequestError(`Audit read on the readers' queue is not one the CLI records: ${describeIssues(checked.error.issues)}`);
  const time = new Date(checked.data.time);
  const ahead = time.getTime() - sentAt.getTime();
  if (!(ahead <= READER_AHEAD_MS && -ahead <= READER_BEHIND_MS)) {
    throw new InvalidRequestError(
      `Audit read on the readers' queue is dated ${checked.data.time}, more than an hour after or a week before it was sent (${sentAt.toISOString()})`,
    );
  }
  // The parsed text, not zod's rebuilt copy: members stay in the order the reader wrote them.
  const fields = parsed as z.infer<typeof auditReadSchema>;
  const requestId = readerRecordId(fields);
  return { requestId, time, partition: partitionOf(time), line: sqsSafeJson({ ...fields, requestId }) };
}
