import { z } from 'zod';
import { describeIssues } from '../describe-issues';
import { InvalidRequestError } from '../errors';
import { usageEventSchema, type UsageEvent } from '../usage-event';
import { isRequestId, partitionOf, type AuditPartition } from './layout';

/** The audit message attribute carrying the usage event of the request the record is about. */
export const USAGE_EVENT_ATTRIBUTE = 'usageEvent';

/** A record on its way into a batch object: its line is stored byte for byte as it arrived. */
export interface ArchivableRecord {
  requestId: string;
  time: Date;
  partition: AuditPartition;
  /** The record's JSON text, one line: what is hashed, chained and stored. */
  line: string;
}

// Only what the archive needs is checked: records gain fields over time (token counts, async
// states) and the archive must keep them all without knowing them.
const recordHeaderSchema = z.looseObject({
  requestId: z.string().refine(isRequestId, 'must be a UUIDv7 request id'),
  time: z.iso.datetime({ offset: true }),
});

/**
 * Reads an audit queue message into a record to archive.
 * @throws InvalidRequestError when the message is not an audit record (it will end in the DLQ).
 */
export function archivableRecordFromMessage(body: string): ArchivableRecord {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (cause) {
    throw new InvalidRequestError('Audit message is not JSON', { cause });
  }
  const header = recordHeaderSchema.safeParse(parsed);
  if (!header.success) {
    throw new InvalidRequestError(`Audit message is not an audit record: ${header.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
  }
  const time = new Date(header.data.time);
  // A JSON-lines file needs one line per record; our sink never sends newlines, others might.
  const line = /[\r\n]/.test(body) ? JSON.stringify(parsed) : body;
  return { requestId: header.data.requestId, time, partition: partitionOf(time), line };
}

/**
 * Who may write a record to the audit queue. The gateway's functions write every kind, with usage
 * events; any other sender IAM lets in (the auditors' CLI) may record an audit read, and nothing
 * that bills or claims a request was served.
 */
export interface AuditSenders {
  /** The IAM role ids (AROA…) of the gateway's functions; SQS names a role session's sender `<role id>:<session>`. */
  gateway: ReadonlySet<string>;
}

/**
 * @throws InvalidRequestError when a sender outside the gateway sent a record other than an audit
 * read, or a usage event (it will end in the DLQ, never in the log or the bill).
 */
export function assertSenderMayWrite(senders: AuditSenders | undefined, senderId: string | undefined, record: ArchivableRecord, usage: UsageEvent | undefined): void {
  if (senders === undefined) return;
  const principal = senderId?.split(':')[0];
  if (principal !== undefined && senders.gateway.has(principal)) return;
  const kind = recordKindOf(record.line);
  if (kind === 'audit-read' && usage === undefined) return;
  throw new InvalidRequestError(
    `Audit message from ${senderId ?? 'an unnamed sender'}: only the gateway's functions write ${usage === undefined ? `records of kind ${kind}` : 'usage events'}; others may record an audit read only`,
  );
}

function recordKindOf(line: string): string {
  const kind = (JSON.parse(line) as { kind?: unknown }).kind;
  return typeof kind === 'string' ? kind : 'invocation';
}

/** The request id of a stored line, without trusting it to be well-formed. */
export function requestIdOfLine(line: string): string | undefined {
  try {
    const parsed = JSON.parse(line) as { requestId?: unknown };
    return typeof parsed.requestId === 'string' ? parsed.requestId : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The usage event that rode along with an audit record, if any (audit reads and older producers
 * send none).
 * @throws InvalidRequestError when the attribute is there but is not a usage event of this record.
 */
export function usageEventFromAttribute(text: string | undefined, record: ArchivableRecord): UsageEvent | undefined {
  if (text === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new InvalidRequestError(`Audit message ${USAGE_EVENT_ATTRIBUTE} attribute is not JSON`, { cause });
  }
  const usage = usageEventSchema.safeParse(parsed);
  if (!usage.success) throw new InvalidRequestError(`Audit message ${USAGE_EVENT_ATTRIBUTE} attribute is not a usage event: ${describeIssues(usage.error.issues)}`);
  if (usage.data.requestId !== record.requestId) {
    throw new InvalidRequestError(`Audit message ${USAGE_EVENT_ATTRIBUTE} attribute is about request ${usage.data.requestId}, not ${record.requestId}`);
  }
  return usage.data;
}
