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
