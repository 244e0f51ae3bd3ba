import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { readEnvironment } from '../lib/config/environment';
import { wireAuditArchiver } from '../lib/config/wire-audit';
import { archiveAuditMessages } from '../lib/http/archive-messages';
import { logger } from '../lib/http/logger';
import { tracingMiddleware } from '../lib/http/tracer';
import { metrics, recordArchiveMetrics } from '../lib/http/metrics';

const { writer, usage, readersQueueArn } = wireAuditArchiver(readEnvironment());

/** SQS event source on the audit queue (ReportBatchItemFailures): batches of records into the audit log, their usage events on to the usage queue. */
export async function archiveAuditRecords(event: SQSEvent): Promise<SQSBatchResponse> {
  const { response, appended } = await archiveAuditMessages(event, writer, usage, readersQueueArn);
  if (response.batchItemFailures.length > 0) {
    logger.error('Audit messages that are not audit records', { messageIds: response.batchItemFailures.map((failure) => failure.itemIdentifier) });
  }
  if (appended) {
    recordArchiveMetrics({ ...appended, lagMs: Date.now() - appended.oldestRecordTime.getTime() });
    logger.info('Audit records archived', { received: appended.records, duplicates: appended.duplicates, conflicts: appended.conflicts, batches: appended.batches, usageForwarded: appended.usageForwarded });
  }
  return response;
}

export const handler = middy<SQSEvent, SQSBatchResponse>()
  .use(tracingMiddleware())
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics))
  .handler(archiveAuditRecords);
