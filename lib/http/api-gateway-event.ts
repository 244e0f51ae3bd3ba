import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { v7 as uuidv7 } from 'uuid';
import { errorResponse } from '../core/error-response';
import type { AppError } from '../core/errors';
import type { InvocationOutcome, InvocationRequest } from '../core/serve-invocation';

/**
 * Reads an API Gateway (REST, payload v1) proxy event into our request shape. Headers are
 * expected lower-cased (http-header-normalizer runs first).
 */
export function invocationRequestFromEvent(
  event: APIGatewayProxyEvent,
  ids: { requestId: string; receivedAt: Date; startedAt: number },
): InvocationRequest {
  const headers = event.headers ?? {};
  const raw = event.body ?? '';
  return {
    ...ids,
    endpointName: event.pathParameters?.name ?? '',
    authorization: headers.authorization,
    contentType: headers['content-type'],
    body: Buffer.from(raw, event.isBase64Encoded ? 'base64' : 'utf8'),
    clientIp: event.requestContext?.identity?.sourceIp ?? undefined,
    userAgent: headers['user-agent'],
  };
}

/** Our outcome as API Gateway expects it, with the request id on every answer. */
export function apiGatewayResult(outcome: Pick<InvocationOutcome, 'statusCode' | 'headers' | 'body'>, requestId: string): APIGatewayProxyResult {
  const body = outcome.body;
  return {
    statusCode: outcome.statusCode,
    headers: { ...outcome.headers, 'content-type': 'application/json', 'x-request-id': requestId },
    body: Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'),
  };
}

/** An error as API Gateway expects it: our JSON error body, under a fresh request id. */
export function apiGatewayErrorResult(error: AppError): APIGatewayProxyResult {
  const requestId = uuidv7();
  return apiGatewayResult(errorResponse(error, requestId), requestId);
}
