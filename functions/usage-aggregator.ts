import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { readEnvironment } from '../lib/config/environment';
import { wireUsageConsumer } from '../lib/config/wire-governance';
import { consumeUsageMessages } from '../lib/http/consume-usage-messages';
import { logger } from '../lib/http/logger';
import { metrics } from '../lib/http/metrics';
import { tracingMiddleware } from '../lib/http/tracer';
import { recordUsageMetrics } from '../lib/http/usage-metrics';

/** serverless.yml's timeout for this function: claims on request ids must outlive it. */
const TIMEOUT_SECONDS = 60;
const deps = wireUsageConsumer(readEnvironment(), TIMEOUT_SECONDS);

/** SQS event source on the usage queue (ReportBatchItemFailures): usage events into the bill and the abuse rules. */
export async function aggregateUsage(event: SQSEvent): Promise<SQSBatchResponse> {
  const { response, summary } = await consumeUsageMessages(event, deps);
  const sent = event.Records.map((record) => Number(record.attributes.SentTimestamp)).filter(Number.isFinite);
  recordUsageMetrics(summary, sent.length > 0 ? Date.now() - Math.min(...sent) : undefined);
  if (summary.invalid > 0) logger.error('Usage messages that are not usage events', { invalid: summary.invalid });
  for (const finding of summary.findings) {
    // Security-relevant: one line per finding, without request bodies (they are in the audit log).
    logger.warn('Abuse finding', { findingId: finding.findingId, rule: finding.rule, subject: finding.subject, tenant: finding.tenant, action: finding.action, actionTaken: finding.actionTaken, observed: finding.observed });
  }
  logger.info('Usage events counted', { received: summary.received, applied: summary.applied, duplicates: summary.duplicates, busy: summary.busy });
  return response;
}

export const handler = middy<SQSEvent, SQSBatchResponse>()
  .use(tracingMiddleware())
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics))
  .handler(aggregateUsage);
