import type { Logger } from '@aws-lambda-powertools/logger';
import type { SettledInvocation } from '../core/serve-invocation';

/** One structured line per request; bodies and keys never go to the log, only the audit log. */
export function logOutcome(logger: Logger, outcome: SettledInvocation): void {
  const { audit } = outcome;
  const fields = {
    endpoint: audit.endpoint,
    servedEntity: audit.servedEntity,
    tenant: audit.tenant,
    keyId: audit.keyId,
    status: outcome.statusCode,
    errorCode: outcome.error?.code,
    latencyMs: audit.latencyMs,
    backendLatencyMs: audit.backendLatencyMs,
  };
  if (outcome.handoffError !== undefined) {
    logger.error('Audit or usage hand-off failed', { ...fields, error: outcome.handoffError });
  }
  if (outcome.limitsSettleError !== undefined) {
    logger.warn('Rate-limit reservation not settled (it stays held until its window ends)', { ...fields, error: outcome.limitsSettleError });
  }
  if (outcome.statusCode >= 500) logger.error('Invocation failed', { ...fields, error: outcome.error?.cause ?? outcome.error });
  else logger.info('Invocation', fields);
}
