import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { readEnvironment } from '../lib/config/environment';
import { wireAuditDigest } from '../lib/config/wire-audit';
import { writeAuditDigest, type DigestResult } from '../lib/core/audit-log/digest';
import { logger } from '../lib/http/logger';
import { tracingMiddleware } from '../lib/http/tracer';

const { store, signer } = wireAuditDigest(readEnvironment());

/** On a schedule: signs the state of the audit chain (a digest, as CloudTrail's). */
export async function digestAuditLog(): Promise<DigestResult> {
  const result = await writeAuditDigest(store, signer, new Date());
  logger.info('Audit digest written', { ...result });
  return result;
}

export const handler = middy()
  .use(tracingMiddleware())
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(digestAuditLog);
