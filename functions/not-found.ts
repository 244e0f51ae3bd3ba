import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { NotFoundError } from '../lib/core/errors';
import { apiGatewayErrorResult } from '../lib/http/api-gateway-event';

/** Every path we do not serve answers our JSON 404, not API Gateway's "Missing Authentication Token". */
export async function notFound(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  return apiGatewayErrorResult(new NotFoundError(`No route for ${event.httpMethod} ${event.path}`));
}

export const handler = middy<APIGatewayProxyEvent, APIGatewayProxyResult>().handler(notFound);
