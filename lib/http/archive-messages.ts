import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import {
  archivableRecordFromMessage,
  assertReadersMayWrite,
  USAGE_EVENT_ATTRIBUTE,
  usageEventFromAttribute,
  type ArchivableRecord,
} from '../core/audit-log/archivable-record';
import { archiveRecords, type ArchivedRecords } from '../core/audit-log/archive-records';
import type { AuditArchiveWriter } from '../core/audit-log/archive-writer';
import type { UsageEvent } from '../core/usage-event';
import type { UsageSink } from '../ports/usage-sink';
import { eachQueueMessage } from './each-queue-message';

export interface ArchiveMessagesResult {
  response: SQSBatchResponse;
  /** Undefined when no message held a valid record. */
  appended: ArchivedRecords | undefined;
}

/**
 * One archiver invocation: each message is read on its own (a message that is not an audit
 * record, or whose usage event is not one, is reported failed, retried and finally
 * dead-lettered, without holding up the others), then the valid records are archived
 * (`archiveRecords`). A message from the readers' queue (`readersQueueArn`) that is not an audit
 * read fails the same way.
 */
export async function archiveAuditMessages(event: SQSEvent, writer: AuditArchiveWriter, usage: UsageSink, readersQueueArn: string): Promise<ArchiveMessagesResult> {
  const records: ArchivableRecord[] = [];
  const usageEvents: UsageEvent[] = [];
  const response = await eachQueueMessage(event, async (message) => {
    const record = archivableRecordFromMessage(message.body);
    const usageEvent = usageEventFromAttribute(message.messageAttributes[USAGE_EVENT_ATTRIBUTE]?.stringValue, record);
    if (message.eventSourceARN === readersQueueArn) assertReadersMayWrite(record, usageEvent);
    records.push(record);
    if (usageEvent !== undefined) usageEvents.push(usageEvent);
  });
  return { response, appended: await archiveRecords(records, usageEvents, writer, usage) };
}
