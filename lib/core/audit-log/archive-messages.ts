import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { UsageEvent } from '../usage-event';
import type { UsageSink } from '../../ports/usage-sink';
import { archivableRecordFromMessage, USAGE_EVENT_ATTRIBUTE, usageEventFromAttribute, type ArchivableRecord } from './archivable-record';
import type { AppendResult, AuditArchiveWriter } from './archive-writer';

export interface ArchiveMessagesResult {
  response: SQSBatchResponse;
  /** Undefined when no message held a valid record. */
  appended: (AppendResult & { records: number; oldestRecordTime: Date; usageForwarded: number }) | undefined;
}

/**
 * One archiver invocation: each message is checked on its own (Powertools' partial batch
 * response: a message that is not an audit record, or whose usage event is not one, is reported
 * failed, retried and finally dead-lettered, without holding up the others), then the valid
 * records are appended as one batch, and then the usage events that rode along with them are
 * forwarded to the usage queue: billing never counts a request the audit log lacks. A failed
 * append or forward throws, so the whole batch returns to the queue; records already chained are
 * recognised on the retry and the usage aggregator counts each request id once, so nothing is
 * lost or counted twice.
 */
export async function archiveAuditMessages(event: SQSEvent, writer: AuditArchiveWriter, usage: UsageSink): Promise<ArchiveMessagesResult> {
  // A processor per invocation: it holds the batch's state, and invocations may run side by side in one process.
  const processor = new BatchProcessor(EventType.SQS);
  const records: ArchivableRecord[] = [];
  const usageEvents: UsageEvent[] = [];
  const response = await processPartialResponse(
    event,
    async (message: SQSRecord) => {
      const record = archivableRecordFromMessage(message.body);
      const usageEvent = usageEventFromAttribute(message.messageAttributes[USAGE_EVENT_ATTRIBUTE]?.stringValue, record);
      records.push(record);
      if (usageEvent !== undefined) usageEvents.push(usageEvent);
    },
    processor,
    // Every message bad is still a partial response here: they are reported, not thrown.
    { throwOnFullBatchFailure: false },
  );
  if (records.length === 0) return { response, appended: undefined };
  const result = await writer.append(records);
  await usage.publishAll(usageEvents);
  const oldestRecordTime = new Date(Math.min(...records.map((record) => record.time.getTime())));
  return { response, appended: { ...result, records: records.length, oldestRecordTime, usageForwarded: usageEvents.length } };
}
