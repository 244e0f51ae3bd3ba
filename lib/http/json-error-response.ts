import type { MiddlewareObj } from '@middy/core';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { v7 as uuidv7 } from 'uuid';
import { toAppError } from '../core/errors';
import { errorResponse } from '../core/error-response';

/**
 * The last line of defence: anything a handler throws becomes our JSON error with a request
 * id, never a stack trace or Lambda's bare 502. Failures the core anticipated never get here.
 */
export function jsonErrorResponse(options: { logger: Logger }): MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult> {
  return {
    onError: async (request) => {
      const requestId = uuidv7();
      const error = toAppError(request.error);
      options.logger.error('Unhandled error', { requestId, error: request.error ?? undefined });
      const { statusCode, headers, body } = errorResponse(error, requestId);
      request.response = {
        statusCode,
        headers: { ...headers, 'content-type': 'application/json', 'x-request-id': requestId },
        body: Buffer.from(body).toString('utf8'),
      };
    },
  };
}
