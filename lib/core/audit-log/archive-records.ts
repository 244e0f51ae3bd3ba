import type { UsageEvent } from '../usage-event';
import type { UsageSink } from '../../ports/usage-sink';
import type { ArchivableRecord } from './archivable-record';
import type { AppendResult, AuditArchiveWriter } from './archive-writer';

/** What one archiver invocation appended, and the usage events it forwarded after. */
export type ArchivedRecords = AppendResult & { records: number; oldestRecordTime: Date; usageForwarded: number };

/**
 * Appends a batch of valid audit records to the log as one batch, and only then forwards the
 * usage events that rode along with them to the usage queue: billing never counts a request the
 * audit log lacks. A failed append or forward throws, so the whole batch returns to the queue;
 * records already chained are recognised on the retry and the usage aggregator counts each
 * request id once, so nothing is lost or counted twice. Undefined when there is no record.
 */
export async function archiveRecords(
  records: readonly ArchivableRecord[],
  usageEvents: readonly UsageEvent[],
  writer: AuditArchiveWriter,
  usage: UsageSink,
): Promise<ArchivedRecords | undefined> {
  if (records.length === 0) return undefined;
  const result = await writer.append(records);
  await usage.publishAll(usageEvents);
  const oldestRecordTime = new Date(Math.min(...records.map((record) => record.time.getTime())));
  return { ...result, records: records.length, oldestRecordTime, usageForwarded: usageEvents.length };
}
