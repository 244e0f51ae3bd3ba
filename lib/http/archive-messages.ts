import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { archivableRecordFromMessage, USAGE_EVENT_ATTRIBUTE, usageEventFromAttribute, type ArchivableRecord } from '../core/audit-log/archivable-record';
import { archiveRecords, type ArchivedRecords } from '../core/audit-log/archive-records';
import type { AuditArchiveWriter } from '../core/audit-log/archive-writer';
import { readerRecordFromMessage } from '../core/audit-log/reader-record';
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
 * (`archiveRecords`). A message from the readers' queue (`readersQueueArn`) must be an audit read
 * as the CLI records one, and is filed under the id its content gives (`readerRecordFromMessage`);
 * anything else there fails the same way.
 */
export async function archiveAuditMessages(event: SQSEvent, writer: AuditArchiveWriter, usage: UsageSink, readersQueueArn: string): Promise<ArchiveMessagesResult> {
  const records: ArchivableRecord[] = [];
  const usageEvents: UsageEvent[] = [];
  const response = await eachQueueMessage(event, async (message) => {
    const usageText = message.messageAttributes[USAGE_EVENT_ATTRIBUTE]?.stringValue;
    if (message.eventSourceARN === readersQueueArn) {
      records.push(readerRecordFromMessage(message.body, usageText, new Date(Number(message.attributes.SentTimestamp))));
      return;
    }
    const record = archivableRecordFromMessage(message.body);
    const usageEvent = usageEventFromAttribute(usageText, record);
    records.push(record);
    if (usageEvent !== undefined) usageEvents.push(usageEvent);
  });
  return { response, appended: await archiveRecords(records, usageEvents, writer, usage) };
}
