import type { MiddlewareObj } from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { jsonErrorResponse } from './json-error-response';
import { logger } from './logger';
import { metrics } from './metrics';
import { tracingMiddleware } from './tracer';

/**
 * What every API Gateway function runs around its handler, in this order: its trace segment
 * (where tracing is on), lower-cased header names, the Lambda context on every log line, metrics
 * flushed per invocation (unless the handler publishes its own: `publishMetrics: false`), and
 * our JSON error for anything the handler throws.
 */
export function apiMiddlewares(options: { publishMetrics?: boolean } = {}): MiddlewareObj<APIGatewayProxyEvent>[] {
  return [
    ...tracingMiddleware(),
    httpHeaderNormalizer(),
    injectLambdaContext(logger, { resetKeys: true }),
    ...(options.publishMetrics === false ? [] : [logMetrics(metrics)]),
    jsonErrorResponse({ logger }),
  ] as MiddlewareObj<APIGatewayProxyEvent>[];
}
