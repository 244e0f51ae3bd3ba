import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { readEnvironment } from '../lib/config/environment';
import { wireAsyncWorker } from '../lib/config/wire-async';
import { processAsyncBatch } from '../lib/http/process-async-batch';
import { logger } from '../lib/http/logger';
import { metrics, recordAsyncWorkerMetrics } from '../lib/http/metrics';
import { tracingMiddleware } from '../lib/http/tracer';

// Cold start: a bad environment or endpoint config stops the function here, naming the field.
const deps = wireAsyncWorker(readEnvironment());

/**
 * SQS event source on the async request queue (ReportBatchItemFailures): each message's request
 * runs through the synchronous path's routing; only messages to retry or dead-letter are reported.
 */
export async function runAsyncRequests(event: SQSEvent): Promise<SQSBatchResponse> {
  const { response, dispositions } = await processAsyncBatch(event, deps);
  for (const disposition of dispositions) {
    if (disposition.limitsSettleError !== undefined) {
      logger.warn('Rate-limit reservation not settled (it stays held until its window ends)', { requestId: disposition.requestId, error: disposition.limitsSettleError });
    }
    if (disposition.auditHandoffError !== undefined) {
      // The endpoint opted out of fail-closed auditing; the alarm on AuditHandoffFailure still hears of it.
      logger.error('Async request settled without its audit record (the endpoint does not require one)', { requestId: disposition.requestId, error: disposition.auditHandoffError });
    }
    if (disposition.kind === 'finished') logger.info('Async request finished', { ...disposition, limitsSettleError: undefined, auditHandoffError: undefined });
    else if (disposition.kind === 'duplicate') logger.info('Duplicate delivery acknowledged', { ...disposition });
    else if (disposition.kind === 'retry') logger.warn('Async request back on the queue', { requestId: disposition.requestId, delaySeconds: disposition.delaySeconds, error: disposition.error });
    else if (disposition.kind === 'sent-again') {
      logger.error('Async request ended but not yet audited: its message goes round again', { requestId: disposition.requestId, delaySeconds: disposition.delaySeconds, error: disposition.error });
    } else logger.error('Async request message dead-lettered', { requestId: disposition.requestId, markedFailed: disposition.markedFailed, error: disposition.error });
  }
  recordAsyncWorkerMetrics(dispositions);
  return response;
}

export const handler = middy<SQSEvent, SQSBatchResponse>()
  .use(tracingMiddleware())
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics))
  .handler(runAsyncRequests);
