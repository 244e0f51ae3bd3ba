import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { NotFoundError } from '../lib/core/errors';
import { apiGatewayErrorResult } from '../lib/http/api-gateway-event';
import { logger } from '../lib/http/logger';
import { metrics, recordRouteNotFound } from '../lib/http/metrics';
import { tracingMiddleware } from '../lib/http/tracer';

/** Every path we do not serve answers our JSON 404, not API Gateway's "Missing Authentication Token". */
export async function notFound(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const result = apiGatewayErrorResult(new NotFoundError(`No route for ${event.httpMethod} ${event.path}`));
  logger.info('Route not found', { requestId: result.headers?.['x-request-id'], httpMethod: event.httpMethod, path: event.path });
  recordRouteNotFound();
  return result;
}

export const handler = middy<APIGatewayProxyEvent, APIGatewayProxyResult>()
  .use(tracingMiddleware())
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics))
  .handler(notFound);
