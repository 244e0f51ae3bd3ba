import middy from '@middy/core';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { readEnvironment } from '../lib/config/environment';
import { wireAuditArchiver } from '../lib/config/wire-audit';
import { archivableRecordFromMessage, type ArchivableRecord } from '../lib/core/audit-log/archivable-record';
import { logger } from '../lib/http/logger';
import { metrics, recordArchiveMetrics } from '../lib/http/metrics';

const { writer } = wireAuditArchiver(readEnvironment());
const processor = new BatchProcessor(EventType.SQS);

/**
 * Drains the audit queue into batched, hash-chained objects. Each message is checked on its own
 * (a malformed one is reported failed and ends in the DLQ); the valid ones are appended as one
 * batch. If the append fails, the whole invocation fails and every message returns to the queue:
 * records already chained are recognised on the retry, so none is lost or written twice.
 */
export async function archiveAuditRecords(event: SQSEvent): Promise<SQSBatchResponse> {
  const records: ArchivableRecord[] = [];
  const response = await processPartialResponse(
    event,
    async (message: SQSRecord) => {
      records.push(archivableRecordFromMessage(message.body));
    },
    processor,
  );
  if (response.batchItemFailures.length > 0) {
    logger.error('Audit messages that are not audit records', { messageIds: response.batchItemFailures.map((failure) => failure.itemIdentifier) });
  }
  if (records.length > 0) {
    const result = await writer.append(records);
    const oldest = Math.min(...records.map((record) => record.time.getTime()));
    recordArchiveMetrics({ ...result, records: records.length, lagMs: Date.now() - oldest });
    logger.info('Audit records archived', {
      received: records.length,
      duplicates: result.duplicates,
      conflicts: result.conflicts,
      batches: result.batches,
    });
  }
  return response;
}

export const handler = middy<SQSEvent, SQSBatchResponse>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics))
  .handler(archiveAuditRecords);
