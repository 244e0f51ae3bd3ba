import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { AuditReadRequest } from '../core/serve-audit-read';

/** Reads `GET /audit/records[/{id}]` (API Gateway REST proxy event, headers lower-cased) into our shape. */
export function auditReadRequestFromEvent(
  event: APIGatewayProxyEvent,
  ids: { requestId: string; receivedAt: Date; startedAt: number },
): AuditReadRequest {
  const headers = event.headers ?? {};
  const query: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(event.queryStringParameters ?? {})) query[name] = value ?? undefined;
  return {
    ...ids,
    recordId: event.pathParameters?.id,
    query,
    authorization: headers.authorization,
    clientIp: event.requestContext?.identity?.sourceIp ?? undefined,
    userAgent: headers['user-agent'],
  };
}
