import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { newRequestId } from '../lib/http/request-id';
import { readEnvironment } from '../lib/config/environment';
import { wireAuditReads } from '../lib/config/wire-audit';
import { serveAuditRead } from '../lib/core/serve-audit-read';
import { apiGatewayResult } from '../lib/http/api-gateway-event';
import { auditReadRequestFromEvent } from '../lib/http/audit-read-event';
import { logger } from '../lib/http/logger';
import { recordAuditReadMetrics } from '../lib/http/metrics';
import { apiMiddlewares } from '../lib/http/api-middlewares';

const deps = wireAuditReads(readEnvironment());

/** `GET /audit/records` (search) and `GET /audit/records/{id}` (one record): auditors only, every read audited. */
export async function auditRecords(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const startedAt = performance.now();
  const requestId = newRequestId();
  logger.appendKeys({ requestId });
  const outcome = await serveAuditRead(auditReadRequestFromEvent(event, { requestId, receivedAt: new Date(), startedAt }), deps);
  const fields = { route: outcome.audit.endpoint, tenant: outcome.audit.tenant, keyId: outcome.audit.keyId, status: outcome.statusCode, errorCode: outcome.error?.code };
  if (outcome.handoffError !== undefined) logger.error('Audit read could not be audited', { ...fields, error: outcome.handoffError });
  if (outcome.statusCode >= 500) logger.error('Audit read failed', { ...fields, error: outcome.error?.cause ?? outcome.error });
  else logger.info('Audit read', fields);
  recordAuditReadMetrics(outcome);
  return apiGatewayResult(outcome, requestId);
}

export const handler = middy<APIGatewayProxyEvent, APIGatewayProxyResult>()
  .use(apiMiddlewares())
  .handler(auditRecords);
