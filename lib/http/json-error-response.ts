import type { MiddlewareObj } from '@middy/core';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { toAppError } from '../core/errors';
import { apiGatewayErrorResult } from './api-gateway-event';

/**
 * The last line of defence: anything a handler throws becomes our JSON error with a request
 * id, never a stack trace or Lambda's bare 502. Failures the core anticipated never get here.
 */
export function jsonErrorResponse(options: { logger: Logger }): MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult> {
  return {
    onError: async (request) => {
      request.response = apiGatewayErrorResult(toAppError(request.error));
      options.logger.error('Unhandled error', { requestId: request.response.headers?.['x-request-id'], error: request.error ?? undefined });
    },
  };
}
