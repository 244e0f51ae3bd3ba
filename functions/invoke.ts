import middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { v7 as uuidv7 } from 'uuid';
import { readEnvironment } from '../lib/config/environment';
import { wireInvocation } from '../lib/config/wire-invocation';
import { serveInvocation } from '../lib/core/serve-invocation';
import { apiGatewayResult, invocationRequestFromEvent } from '../lib/http/api-gateway-event';
import { jsonErrorResponse } from '../lib/http/json-error-response';
import { logOutcome } from '../lib/http/log-outcome';
import { logger } from '../lib/http/logger';
import { metrics, recordInvocationMetrics } from '../lib/http/metrics';
import { annotateInvocation, tracer } from '../lib/http/tracer';

// Cold start: a bad environment or endpoint config stops the function here, naming the field.
const deps = wireInvocation(readEnvironment());

/** `POST /serving-endpoints/{name}/invocations` */
export async function invoke(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const startedAt = performance.now();
  const requestId = uuidv7();
  logger.appendKeys({ requestId });
  const outcome = await serveInvocation(
    invocationRequestFromEvent(event, { requestId, receivedAt: new Date(), startedAt }),
    deps,
  );
  logOutcome(logger, outcome);
  const endpointExists = deps.endpoints.get(outcome.audit.endpoint) !== undefined;
  recordInvocationMetrics(outcome, endpointExists);
  annotateInvocation(outcome, endpointExists);
  return apiGatewayResult(outcome, requestId);
}

export const handler = middy<APIGatewayProxyEvent, APIGatewayProxyResult>()
  // Responses are model outputs: they belong in the audit log, never in trace metadata.
  .use(captureLambdaHandler(tracer, { captureResponse: false }))
  .use(httpHeaderNormalizer())
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics))
  .use(jsonErrorResponse({ logger }))
  .handler(invoke);
