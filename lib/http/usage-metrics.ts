import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { UsageBatchSummary } from './consume-usage-messages';
import { metrics } from './metrics';

/** What one usage-consumer invocation counted; `AbuseFindings` is what the abuse alarm watches. */
export function recordUsageMetrics(summary: UsageBatchSummary, lagMs: number | undefined): void {
  metrics.addMetric('UsageEventsApplied', MetricUnit.Count, summary.applied);
  metrics.addMetric('UsageEventsDuplicate', MetricUnit.Count, summary.duplicates);
  metrics.addMetric('UsageEventsInvalid', MetricUnit.Count, summary.invalid);
  metrics.addMetric('UsageEventsBusy', MetricUnit.Count, summary.busy);
  metrics.addMetric('AbuseFindings', MetricUnit.Count, summary.findings.length);
  if (lagMs !== undefined) metrics.addMetric('UsageLag', MetricUnit.Milliseconds, lagMs);
}
