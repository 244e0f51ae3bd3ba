import middy from '@middy/core';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { newRequestId } from '../lib/http/request-id';
import { readEnvironment } from '../lib/config/environment';
import { wireRequestStatus } from '../lib/config/wire-async';
import { serveRequestStatus } from '../lib/core/async/serve-request-status';
import { apiGatewayResult } from '../lib/http/api-gateway-event';
import { requestStatusFromEvent } from '../lib/http/async-events';
import { logger } from '../lib/http/logger';
import { metrics } from '../lib/http/metrics';
import { apiMiddlewares } from '../lib/http/api-middlewares';

const deps = wireRequestStatus(readEnvironment());

/**
 * `GET /requests/{id}`: a queued request's status and, once it ended, its result or error. Only
 * its tenant sees it. Status reads are logged, not audited: a request's one audit record is its
 * execution's, which holds the same result.
 */
export async function requestStatus(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const requestId = newRequestId();
  logger.appendKeys({ requestId });
  const outcome = await serveRequestStatus(requestStatusFromEvent(event, requestId), deps);
  const fields = { asked: event.pathParameters?.id, tenant: outcome.principal?.tenant, keyId: outcome.principal?.keyId, status: outcome.statusCode, errorCode: outcome.error?.code };
  if (outcome.statusCode >= 500) logger.error('Request status failed', { ...fields, error: outcome.error?.cause ?? outcome.error });
  else logger.info('Request status', fields);
  metrics.addMetric(outcome.statusCode >= 500 ? 'RequestStatusFault' : outcome.statusCode >= 400 ? 'RequestStatusRefused' : 'RequestStatusRead', MetricUnit.Count, 1);
  return apiGatewayResult(outcome, requestId);
}

export const handler = middy<APIGatewayProxyEvent, APIGatewayProxyResult>()
  .use(apiMiddlewares())
  .handler(requestStatus);
