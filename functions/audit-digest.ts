import middy from '@middy/core';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { readEnvironment } from '../lib/config/environment';
import { wireAuditDigest } from '../lib/config/wire-audit';
import { writeAuditDigest, type DigestResult } from '../lib/core/audit-log/digest';
import { logger } from '../lib/http/logger';
import { tracer } from '../lib/http/tracer';

const { store, signer } = wireAuditDigest(readEnvironment());

/** On a schedule: signs the state of the audit chain (a digest, as CloudTrail's). */
export async function digestAuditLog(): Promise<DigestResult> {
  const result = await writeAuditDigest(store, signer, new Date());
  logger.info('Audit digest written', { ...result });
  return result;
}

export const handler = middy()
  // Audit records and results belong in the audit log, never in trace metadata.
  .use(captureLambdaHandler(tracer, { captureResponse: false }))
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(digestAuditLog);
