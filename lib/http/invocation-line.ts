import { LogLevelThreshold } from '@aws-lambda-powertools/logger';
import { getServiceName, getStringFromEnv, getXRayTraceIdFromEnv } from '@aws-lambda-powertools/commons/utils/env';
import type { Context } from 'aws-lambda';
import { maskSensitiveText } from '../core/sensitive-text';
import type { SettledInvocation } from '../core/serve-invocation';
import { logger } from './logger';
import { invocationMetrics, metrics, publishInvocationMetrics } from './metrics';

/** Where the line is written; Powertools' logger and metrics write to the same stream. */
type LineSink = (line: string) => void;

/** What a line needs of its invocation besides the outcome. */
export interface InvocationLineContext {
  context: Context;
  requestId: string;
  coldStart: boolean;
  /** Whether the endpoint the caller named exists (only existing names become dimensions). */
  endpointExists: boolean;
}

// Read once, as Powertools reads them: the line's `service` and the metrics' namespace and
// `service` dimension must be the ones Powertools' own lines carry.
const SERVICE = getServiceName() || 'service_undefined';
const NAMESPACE = getStringFromEnv({ key: 'POWERTOOLS_METRICS_NAMESPACE', defaultValue: 'default_namespace' });

/**
 * The one line a served request writes: Powertools' `Invocation` log entry (the same keys, the
 * Lambda context included) with the request's CloudWatch metrics embedded in it (EMF: the `_aws`
 * block and the values beside the log keys), so CloudWatch files one line as both. It replaces
 * the log line and the EMF line Powertools would write apart, which together were about a sixth
 * of the CPU of a request served with others at once (BENCHMARKS.md, "Eighth round"): each goes
 * through several invoke-store lookups, each of them an environment read, a deep merge and a
 * JSON replacer called on every member. Every value is modelgate's or Lambda's own but the name
 * of an endpoint that does not exist, which is masked as the logger masks free text.
 */
export function formatInvocationLine(outcome: SettledInvocation, invocation: InvocationLineContext, options: { withMetrics: boolean; now?: Date }): string {
  const now = options.now ?? new Date();
  const { audit } = outcome;
  const { context } = invocation;
  const { dimensions, values } = invocationMetrics(outcome, invocation.endpointExists);
  // Members left undefined (no trace id, no error) are left out, as Powertools leaves them out.
  const line: Record<string, unknown> = {
    level: 'INFO',
    message: 'Invocation',
    timestamp: now.toISOString(),
    service: SERVICE,
    cold_start: invocation.coldStart,
    function_arn: context.invokedFunctionArn,
    function_memory_size: context.memoryLimitInMB,
    function_name: context.functionName,
    function_request_id: context.awsRequestId,
    sampling_rate: 0,
    xray_trace_id: getXRayTraceIdFromEnv(),
    requestId: invocation.requestId,
    endpoint: dimensions.endpoint,
    requestedEndpoint: invocation.endpointExists ? undefined : maskSensitiveText(audit.endpoint),
    servedEntity: dimensions.servedEntity,
    tenant: audit.tenant ?? undefined,
    keyId: audit.keyId ?? undefined,
    status: outcome.statusCode,
    errorCode: outcome.error?.code,
    latencyMs: audit.latencyMs,
    backendLatencyMs: audit.backendLatencyMs ?? undefined,
  };
  if (options.withMetrics) {
    line._aws = {
      Timestamp: now.getTime(),
      CloudWatchMetrics: [{ Namespace: NAMESPACE, Dimensions: [['service', 'endpoint', 'servedEntity']], Metrics: values.map(({ name, unit }) => ({ Name: name, Unit: unit })) }],
    };
    for (const { name, value } of values) line[name] = value;
  }
  return JSON.stringify(line);
}

/**
 * Writes a served request's line. Only for an outcome that is logged at INFO with nothing to
 * format but fields: errors (5xx, a failed hand-off, an unsettled reservation) go through
 * Powertools' logger, which formats their causes. With INFO lines turned off, the metrics are
 * still published, through Powertools.
 */
export function writeInvocationLine(outcome: SettledInvocation, invocation: InvocationLineContext, write: LineSink = writeToStdout): void {
  if (logger.level > LogLevelThreshold.INFO) {
    publishInvocationMetrics(outcome, invocation.endpointExists);
    return;
  }
  // POWERTOOLS_METRICS_DISABLED (or Powertools' dev mode) leaves the metrics out, as Powertools would.
  write(formatInvocationLine(outcome, invocation, { withMetrics: metrics.publishes }));
}

function writeToStdout(line: string): void {
  process.stdout.write(`${line}\n`);
}
