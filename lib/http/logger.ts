import { Logger } from '@aws-lambda-powertools/logger';
import { maskSensitiveText } from '../core/sensitive-text';

/**
 * The structured JSON logger shared by every entry point. Service name and level come from
 * Powertools' own variables (`POWERTOOLS_SERVICE_NAME`, `POWERTOOLS_LOG_LEVEL`). Every string
 * written is masked for secrets, e-mail, phone and card values first: the log is a sink too, and
 * error texts can echo what a caller sent.
 */
export const logger = new Logger({
  jsonReplacerFn: (_key: string, value: unknown) => (typeof value === 'string' ? maskSensitiveText(value) : value),
});
