import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { archivableRecordFromMessage, type ArchivableRecord } from './archivable-record';
import type { AppendResult, AuditArchiveWriter } from './archive-writer';

export interface ArchiveMessagesResult {
  response: SQSBatchResponse;
  /** Undefined when no message held a valid record. */
  appended: (AppendResult & { records: number; oldestRecordTime: Date }) | undefined;
}

const processor = new BatchProcessor(EventType.SQS);

/**
 * One archiver invocation: each message is checked on its own (Powertools' partial batch
 * response: a message that is not an audit record is reported failed, retried and finally
 * dead-lettered, without holding up the others), then the valid records are appended as one
 * batch. A failed append throws, so the whole batch returns to the queue; records already chained
 * are recognised on the retry, so none is lost or written twice.
 */
export async function archiveAuditMessages(event: SQSEvent, writer: AuditArchiveWriter): Promise<ArchiveMessagesResult> {
  const records: ArchivableRecord[] = [];
  const response = await processPartialResponse(
    event,
    async (message: SQSRecord) => {
      records.push(archivableRecordFromMessage(message.body));
    },
    processor,
    // Every message bad is still a partial response here: they are reported, not thrown.
    { throwOnFullBatchFailure: false },
  );
  if (records.length === 0) return { response, appended: undefined };
  const result = await writer.append(records);
  const oldestRecordTime = new Date(Math.min(...records.map((record) => record.time.getTime())));
  return { response, appended: { ...result, records: records.length, oldestRecordTime } };
}
