import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { newRequestId } from '../lib/http/request-id';
import { readEnvironment } from '../lib/config/environment';
import { wireAsyncSubmission } from '../lib/config/wire-async';
import { serveAsyncSubmission } from '../lib/core/async/serve-async-submission';
import { apiGatewayResult } from '../lib/http/api-gateway-event';
import { asyncSubmissionFromEvent } from '../lib/http/async-events';
import { logger } from '../lib/http/logger';
import { recordAsyncSubmissionMetrics } from '../lib/http/metrics';
import { apiMiddlewares } from '../lib/http/api-middlewares';

// Cold start: a bad environment or endpoint config stops the function here, naming the field.
const deps = wireAsyncSubmission(readEnvironment());

/** `POST /serving-endpoints/{name}/async-invocations`: checked like a synchronous request, then queued (202). */
export async function asyncInvoke(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const startedAt = performance.now();
  const requestId = newRequestId();
  logger.appendKeys({ requestId });
  const outcome = await serveAsyncSubmission(asyncSubmissionFromEvent(event, { requestId, receivedAt: new Date(), startedAt }), deps);
  const fields = {
    requestId: outcome.requestId,
    endpoint: event.pathParameters?.name,
    tenant: outcome.audit?.tenant,
    keyId: outcome.audit?.keyId,
    status: outcome.statusCode,
    errorCode: outcome.error?.code,
    replayed: outcome.replayed,
  };
  if (outcome.handoffError !== undefined) logger.error('Audit or usage hand-off failed', { ...fields, error: outcome.handoffError });
  if (outcome.statusCode >= 500) logger.error('Async submission failed', { ...fields, error: outcome.error?.cause ?? outcome.error });
  else logger.info(outcome.statusCode === 202 ? 'Async submission queued' : 'Async submission refused', fields);
  recordAsyncSubmissionMetrics(outcome);
  return apiGatewayResult(outcome, outcome.requestId);
}

export const handler = middy<APIGatewayProxyEvent, APIGatewayProxyResult>()
  .use(apiMiddlewares())
  .handler(asyncInvoke);
