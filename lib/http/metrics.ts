import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MetricUnit as MetricUnitName } from '@aws-lambda-powertools/metrics/types';
import type { SettledInvocation } from '../core/serve-invocation';

/**
 * CloudWatch metrics in Embedded Metric Format (written to the log, no API call on the hot
 * path). Namespace and service from Powertools' own variables (`POWERTOOLS_METRICS_NAMESPACE`,
 * `POWERTOOLS_SERVICE_NAME`), set in serverless.yml and by the local stack.
 */
export const metrics = new (class GatewayMetrics extends Metrics {
  /** Whether EMF is written at all (`POWERTOOLS_METRICS_DISABLED`, else off in Powertools' dev mode). */
  get publishes(): boolean {
    return !this.isDisabled();
  }
})();

/** One invocation's metrics: the dimensions they are kept under and each metric's value. */
export interface InvocationMetrics {
  dimensions: { endpoint: string; servedEntity: string };
  values: Array<{ name: string; unit: MetricUnitName; value: number }>;
}

/**
 * Latency, overhead (time not spent in the backend) and errors per endpoint and served entity.
 * Names of endpoints that do not exist never become dimensions: callers cannot inflate them.
 */
export function invocationMetrics(outcome: SettledInvocation, endpointExists: boolean): InvocationMetrics {
  const { audit } = outcome;
  const values: InvocationMetrics['values'] = [
    { name: 'Latency', unit: MetricUnit.Milliseconds, value: audit.latencyMs },
    { name: 'Overhead', unit: MetricUnit.Milliseconds, value: outcome.overheadMs },
  ];
  if (audit.backendLatencyMs !== null) values.push({ name: 'BackendLatency', unit: MetricUnit.Milliseconds, value: audit.backendLatencyMs });
  values.push({ name: outcome.statusCode >= 500 ? 'Fault' : outcome.statusCode >= 400 ? 'ClientError' : 'Success', unit: MetricUnit.Count, value: 1 });
  if (outcome.handoffError !== undefined) values.push({ name: 'AuditHandoffFailure', unit: MetricUnit.Count, value: 1 });
  // Its own metric, so an alarm can tell a backend that pushes back from one that is broken.
  if (outcome.error?.code === 'BACKEND_THROTTLED') values.push({ name: 'BackendThrottled', unit: MetricUnit.Count, value: 1 });
  return { dimensions: { endpoint: endpointExists ? audit.endpoint : '(unknown)', servedEntity: audit.servedEntity ?? '(none)' }, values };
}

/**
 * Stores {@link invocationMetrics} in Powertools' metrics, for the caller to publish; a failed
 * hand-off is also published at once on its own, for the fail-closed alarm.
 */
export function recordInvocationMetrics(outcome: SettledInvocation, endpointExists: boolean): void {
  const { dimensions, values } = invocationMetrics(outcome, endpointExists);
  metrics.addDimensions(dimensions);
  for (const { name, unit, value } of values) metrics.addMetric(name, unit, value);
  if (outcome.handoffError !== undefined) recordHandoffFailure();
}

/** {@link recordInvocationMetrics}, published at once as Powertools' EMF line. */
export function publishInvocationMetrics(outcome: SettledInvocation, endpointExists: boolean): void {
  recordInvocationMetrics(outcome, endpointExists);
  metrics.publishStoredMetrics();
}

/** A request for a path or method modelgate does not serve (scanners show up here). */
export function recordRouteNotFound(): void {
  metrics.addMetric('RouteNotFound', MetricUnit.Count, 1);
}

/**
 * One `AuditHandoffFailure` with the service dimension only, published at once: the metric the
 * fail-closed alarm watches, whatever endpoint failed.
 */
export function recordHandoffFailure(): void {
  metrics.singleMetric().addMetric('AuditHandoffFailure', MetricUnit.Count, 1);
}

/** Reads of the audit log: refusals and hand-off failures are what matters. */
export function recordAuditReadMetrics(outcome: { statusCode: number; handoffError?: unknown }): void {
  metrics.addMetric(outcome.statusCode >= 500 ? 'AuditReadFault' : outcome.statusCode >= 400 ? 'AuditReadRefused' : 'AuditRead', MetricUnit.Count, 1);
  if (outcome.handoffError !== undefined) recordHandoffFailure();
}

/**
 * What one archiver invocation did; `ArchiveLag` is how old its oldest record was (for dashboards:
 * the alarm on falling behind watches the audit queue's oldest message instead).
 */
export function recordArchiveMetrics(result: { records: number; duplicates: number; conflicts: number; batches: unknown[]; lagMs: number }): void {
  metrics.addMetric('RecordsArchived', MetricUnit.Count, result.records - result.duplicates);
  metrics.addMetric('DuplicateRecordsDropped', MetricUnit.Count, result.duplicates);
  metrics.addMetric('BatchObjectsWritten', MetricUnit.Count, result.batches.length);
  metrics.addMetric('ChainConflicts', MetricUnit.Count, result.conflicts);
  metrics.addMetric('ArchiveLag', MetricUnit.Milliseconds, result.lagMs);
}

/** A submission: accepted (or replayed for its idempotency key), or refused at the door. */
export function recordAsyncSubmissionMetrics(outcome: { statusCode: number; replayed?: boolean; handoffError?: unknown }): void {
  const name = outcome.statusCode === 202 ? (outcome.replayed ? 'AsyncSubmissionReplayed' : 'AsyncSubmitted') : outcome.statusCode >= 500 ? 'AsyncSubmissionFault' : 'AsyncSubmissionRefused';
  metrics.addMetric(name, MetricUnit.Count, 1);
  if (outcome.handoffError !== undefined) recordHandoffFailure();
}

/** What one worker invocation did with its messages; dead letters are what the DLQ alarm pages on. */
export function recordAsyncWorkerMetrics(dispositions: ReadonlyArray<{ kind: string; status?: string; errorCode?: string; error?: unknown; auditHandoffError?: unknown }>): void {
  // Requests that ended without their audit record yet (going round again), or for good (the
  // endpoint does not require one): no DLQ alarm hears of them, the fail-closed alarm must.
  for (const disposition of dispositions) {
    if (disposition.kind === 'sent-again' || disposition.auditHandoffError !== undefined) recordHandoffFailure();
  }
  const count = (name: string, value: number) => {
    if (value > 0) metrics.addMetric(name, MetricUnit.Count, value);
  };
  count('AsyncSucceeded', dispositions.filter((d) => d.kind === 'finished' && d.status === 'succeeded').length);
  count('AsyncFailed', dispositions.filter((d) => d.kind === 'finished' && d.status === 'failed').length);
  count('AsyncRetried', dispositions.filter((d) => d.kind === 'retry').length);
  count('AsyncDeadLettered', dispositions.filter((d) => d.kind === 'dead-letter').length);
  count('AsyncHandoffSentAgain', dispositions.filter((d) => d.kind === 'sent-again').length);
  count('AsyncDuplicateDeliveries', dispositions.filter((d) => d.kind === 'duplicate').length);
  const throttled = dispositions.filter((d) => d.kind === 'retry' && (d.error as { code?: string } | undefined)?.code === 'BACKEND_THROTTLED').length;
  count('BackendThrottled', throttled);
}
