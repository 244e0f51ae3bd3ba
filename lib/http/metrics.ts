import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SettledInvocation } from '../core/serve-invocation';

/**
 * CloudWatch metrics in Embedded Metric Format (written to the log, no API call on the hot
 * path). Namespace and service from Powertools' own variables (`POWERTOOLS_METRICS_NAMESPACE`,
 * `POWERTOOLS_SERVICE_NAME`), set in serverless.yml and by the local stack.
 */
export const metrics = new Metrics();

/**
 * Latency, overhead (time not spent in the backend) and errors per endpoint and served entity.
 * Names of endpoints that do not exist never become dimensions: callers cannot inflate them.
 */
export function recordInvocationMetrics(outcome: SettledInvocation, endpointExists: boolean): void {
  const { audit } = outcome;
  metrics.addDimensions({
    endpoint: endpointExists ? audit.endpoint : '(unknown)',
    servedEntity: audit.servedEntity ?? '(none)',
  });
  metrics.addMetric('Latency', MetricUnit.Milliseconds, audit.latencyMs);
  metrics.addMetric('Overhead', MetricUnit.Milliseconds, outcome.overheadMs);
  if (audit.backendLatencyMs !== null) metrics.addMetric('BackendLatency', MetricUnit.Milliseconds, audit.backendLatencyMs);
  metrics.addMetric(outcome.statusCode >= 500 ? 'Fault' : outcome.statusCode >= 400 ? 'ClientError' : 'Success', MetricUnit.Count, 1);
  if (outcome.handoffError !== undefined) metrics.addMetric('AuditHandoffFailure', MetricUnit.Count, 1);
  // Its own metric, so an alarm can tell a backend that pushes back from one that is broken.
  if (outcome.error?.code === 'BACKEND_THROTTLED') metrics.addMetric('BackendThrottled', MetricUnit.Count, 1);
}

/** A request for a path or method modelgate does not serve (scanners show up here). */
export function recordRouteNotFound(): void {
  metrics.addMetric('RouteNotFound', MetricUnit.Count, 1);
}
