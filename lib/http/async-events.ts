import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { AsyncSubmissionRequest } from '../core/async/serve-async-submission';
import type { RequestStatusRequest } from '../core/async/serve-request-status';

/**
 * Reads `POST /serving-endpoints/{name}/async-invocations` (API Gateway REST proxy event, headers
 * lower-cased) into our shape.
 */
export function asyncSubmissionFromEvent(
  event: APIGatewayProxyEvent,
  ids: { requestId: string; receivedAt: Date; startedAt: number },
): AsyncSubmissionRequest {
  const headers = event.headers ?? {};
  return {
    ...ids,
    endpointName: event.pathParameters?.name,
    authorization: headers.authorization,
    contentType: headers['content-type'],
    body: Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8'),
    clientIp: event.requestContext?.identity?.sourceIp ?? undefined,
    userAgent: headers['user-agent'],
    idempotencyKey: headers['idempotency-key'],
    apiBaseUrl: apiBaseUrl(event),
  };
}

/** Reads `GET /requests/{id}` into our shape. */
export function requestStatusFromEvent(event: APIGatewayProxyEvent, requestId: string): RequestStatusRequest {
  return { requestId, id: event.pathParameters?.id, authorization: (event.headers ?? {}).authorization };
}

/**
 * The URL the caller reached the API at, up to the stage or base path: `requestContext.path` is the
 * full path as called (`/prod/serving-endpoints/...` on execute-api, the base path on a custom
 * domain), `path` the resource's part of it.
 */
export function apiBaseUrl(event: APIGatewayProxyEvent): string {
  const context = event.requestContext as (typeof event.requestContext & { domainName?: string }) | undefined;
  const domain = context?.domainName ?? event.headers?.host ?? 'localhost';
  const calledPath = context?.path ?? event.path;
  const prefix = calledPath.endsWith(event.path) ? calledPath.slice(0, calledPath.length - event.path.length) : '';
  // Only the local stack answers on plain HTTP, on loopback.
  const scheme = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?$/.test(domain) ? 'http' : 'https';
  return `${scheme}://${domain}${prefix}`;
}
