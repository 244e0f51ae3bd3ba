import { Logger } from '@aws-lambda-powertools/logger';
import { maskSensitiveText } from '../core/sensitive-text';

/**
 * Members whose values modelgate or Lambda make, never a caller: Powertools' own keys (the
 * Lambda context, the time, the trace id) and the ids and names our log lines take from the key
 * store and the endpoint config. Scanning them was most of the masking's cost per log line
 * (a timestamp or an ARN holds digits and separators, so the full scan runs). Free text
 * (`message`, errors, user agents, anything else) is still masked.
 */
const OUR_OWN_MEMBERS = new Set([
  'level',
  'timestamp',
  'service',
  'sampling_rate',
  'xray_trace_id',
  'cold_start',
  'function_name',
  'function_arn',
  'function_memory_size',
  'function_request_id',
  'requestId',
  'keyId',
  'tenant',
  'servedEntity',
  'errorCode',
]);

/**
 * The structured JSON logger shared by every entry point. Service name and level come from
 * Powertools' own variables (`POWERTOOLS_SERVICE_NAME`, `POWERTOOLS_LOG_LEVEL`). Every string
 * written is masked for secrets, e-mail, phone and card values first, but for the members above:
 * the log is a sink too, and error texts can echo what a caller sent.
 */
export const logger = new Logger({
  jsonReplacerFn: (key: string, value: unknown) => (typeof value === 'string' && !OUR_OWN_MEMBERS.has(key) ? maskSensitiveText(value) : value),
});
