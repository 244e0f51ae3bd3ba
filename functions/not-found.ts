import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { v7 as uuidv7 } from 'uuid';
import { NotFoundError } from '../lib/core/errors';
import { errorResponse } from '../lib/core/error-response';

/** Every path we do not serve answers our JSON 404, not API Gateway's "Missing Authentication Token". */
export async function notFound(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const requestId = uuidv7();
  const { statusCode, body } = errorResponse(new NotFoundError(`No route for ${event.httpMethod} ${event.path}`), requestId);
  return {
    statusCode,
    headers: { 'content-type': 'application/json', 'x-request-id': requestId },
    body: Buffer.from(body).toString('utf8'),
  };
}

export const handler = middy<APIGatewayProxyEvent, APIGatewayProxyResult>().handler(notFound);
