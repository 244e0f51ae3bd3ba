import middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { v7 as uuidv7 } from 'uuid';
import { readEnvironment } from '../lib/config/environment';
import { wireRequestStatus } from '../lib/config/wire-async';
import { serveRequestStatus } from '../lib/core/async/serve-request-status';
import { apiGatewayResult } from '../lib/http/api-gateway-event';
import { requestStatusFromEvent } from '../lib/http/async-events';
import { jsonErrorResponse } from '../lib/http/json-error-response';
import { logger } from '../lib/http/logger';
import { metrics } from '../lib/http/metrics';
import { tracingMiddleware } from '../lib/http/tracer';

const deps = wireRequestStatus(readEnvironment());

/**
 * `GET /requests/{id}`: a queued request's status and, once it ended, its result or error. Only
 * its tenant sees it. Status reads are logged, not audited: a request's one audit record is its
 * execution's, which holds the same result.
 */
export async function requestStatus(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const requestId = uuidv7();
  logger.appendKeys({ requestId });
  const outcome = await serveRequestStatus(requestStatusFromEvent(event, requestId), deps);
  const fields = { asked: event.pathParameters?.id, tenant: outcome.principal?.tenant, keyId: outcome.principal?.keyId, status: outcome.statusCode, errorCode: outcome.error?.code };
  if (outcome.statusCode >= 500) logger.error('Request status failed', { ...fields, error: outcome.error?.cause ?? outcome.error });
  else logger.info('Request status', fields);
  metrics.addMetric(outcome.statusCode >= 500 ? 'RequestStatusFault' : outcome.statusCode >= 400 ? 'RequestStatusRefused' : 'RequestStatusRead', MetricUnit.Count, 1);
  return apiGatewayResult(outcome, requestId);
}

export const handler = middy<APIGatewayProxyEvent, APIGatewayProxyResult>()
  .use(tracingMiddleware())
  .use(httpHeaderNormalizer())
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics))
  .use(jsonErrorResponse({ logger }))
  .handler(requestStatus);
