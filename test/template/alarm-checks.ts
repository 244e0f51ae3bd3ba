import { asArray, findWithoutTransportDeny, propertyAt, refersTo, resourcesOfType, type CfnResource, type CfnTemplate } from './cloudformation-template';
import { functionsCallingModelBackends, functionsWithReservedConcurrency } from './function-checks';
import { deadLetterQueueIds } from './queue-checks';

/** One metric an alarm watches: its own, or one of its metric-math / Metrics Insights queries. */
interface WatchedMetric {
  namespace?: unknown;
  metricName?: unknown;
  dimensions: unknown[];
  statistic?: unknown;
  expression?: string;
}

function watchedMetrics(alarm: CfnResource): WatchedMetric[] {
  const properties = alarm.Properties ?? {};
  const watched: WatchedMetric[] = [];
  if (properties.MetricName !== undefined) {
    watched.push({
      namespace: properties.Namespace,
      metricName: properties.MetricName,
      dimensions: asArray(properties.Dimensions as unknown[] | undefined),
      statistic: properties.ExtendedStatistic ?? properties.Statistic,
    });
  }
  for (const query of asArray(properties.Metrics as Array<Record<string, unknown>> | undefined)) {
    if (typeof query.Expression === 'string') watched.push({ dimensions: [], expression: query.Expression });
    const metric = propertyAt(query, 'MetricStat.Metric');
    if (metric !== undefined) {
      watched.push({
        namespace: propertyAt(metric, 'Namespace'),
        metricName: propertyAt(metric, 'MetricName'),
        dimensions: asArray(propertyAt(metric, 'Dimensions') as unknown[] | undefined),
        statistic: propertyAt(query, 'MetricStat.Stat'),
      });
    }
  }
  return watched;
}

function alarmsWatching(template: CfnTemplate, matches: (metric: WatchedMetric) => boolean): string[] {
  return resourcesOfType(template, 'AWS::CloudWatch::Alarm')
    .filter(([, alarm]) => watchedMetrics(alarm).some(matches))
    .map(([id]) => id);
}

function dimensionRefersTo(metric: WatchedMetric, name: string, logicalId: string): boolean {
  return metric.dimensions.some((dimension) => propertyAt(dimension, 'Name') === name && refersTo(propertyAt(dimension, 'Value'), logicalId));
}

/** The API's 5xx share and p99 latency, from API Gateway's own metrics. */
export function findMissingApiAlarms(template: CfnTemplate): string[] {
  const findings: string[] = [];
  if (alarmsWatching(template, (m) => m.namespace === 'AWS/ApiGateway' && m.metricName === '5XXError').length === 0) {
    findings.push('no alarm on API Gateway 5XXError');
  }
  const p99 = (m: WatchedMetric) => m.namespace === 'AWS/ApiGateway' && m.metricName === 'Latency' && String(m.statistic).toLowerCase() === 'p99';
  if (alarmsWatching(template, p99).length === 0) findings.push('no alarm on API Gateway p99 Latency');
  return findings;
}

/** Every dead-letter queue needs an alarm on its depth: a parked message is lost work until someone looks. */
export function findDeadLetterQueuesWithoutDepthAlarm(template: CfnTemplate): string[] {
  return [...deadLetterQueueIds(template)]
    .filter(
      (queueId) =>
        alarmsWatching(
          template,
          (m) => m.namespace === 'AWS/SQS' && m.metricName === 'ApproximateNumberOfMessagesVisible' && dimensionRefersTo(m, 'QueueName', queueId),
        ).length === 0,
    )
    .map((queueId) => `${queueId}: no depth alarm (ApproximateNumberOfMessagesVisible)`);
}

function watchesOurMetric(metric: WatchedMetric, name: string, namespace: string): boolean {
  if (metric.expression !== undefined) return new RegExp(`\\b${name}\\b`).test(metric.expression) && metric.expression.includes(namespace);
  return metric.namespace === namespace && metric.metricName === name;
}

/** Our EMF metric for audit or usage records that could not be handed off. */
export function findMissingAuditHandoffAlarm(template: CfnTemplate, namespace = 'modelgate'): string[] {
  return alarmsWatching(template, (m) => watchesOurMetric(m, 'AuditHandoffFailure', namespace)).length > 0
    ? []
    : [`no alarm on ${namespace} AuditHandoffFailure`];
}

/**
 * Throttling: our BackendThrottled metric (a backend pushing back), and Lambda's Throttles for
 * every function with a concurrency reservation or calling a backend (the cap is being hit).
 */
export function findMissingThrottlingAlarms(template: CfnTemplate, namespace = 'modelgate'): string[] {
  const findings: string[] = [];
  if (alarmsWatching(template, (m) => watchesOurMetric(m, 'BackendThrottled', namespace)).length === 0) {
    findings.push(`no alarm on ${namespace} BackendThrottled`);
  }
  const capped = new Set([...functionsWithReservedConcurrency(template), ...functionsCallingModelBackends(template)]);
  for (const functionId of capped) {
    const watched = alarmsWatching(
      template,
      (m) => m.namespace === 'AWS/Lambda' && m.metricName === 'Throttles' && dimensionRefersTo(m, 'FunctionName', functionId),
    );
    if (watched.length === 0) findings.push(`${functionId}: no alarm on Lambda Throttles`);
  }
  return findings;
}

/** Alarms that notify no SNS topic of the stack: nobody would hear them. */
export function findAlarmsThatPageNoOne(template: CfnTemplate): string[] {
  const topics = resourcesOfType(template, 'AWS::SNS::Topic').map(([id]) => id);
  return resourcesOfType(template, 'AWS::CloudWatch::Alarm')
    .filter(([, alarm]) => !asArray(alarm.Properties?.AlarmActions as unknown[] | undefined).some((action) => topics.some((topic) => refersTo(action, topic))))
    .map(([id]) => `${id}: AlarmActions notify no SNS topic of the stack`);
}

/** SNS topics whose topic policy does not refuse plain HTTP. */
export function findTopicsWithoutTlsPolicy(template: CfnTemplate): string[] {
  return findWithoutTransportDeny(template, { type: 'AWS::SNS::Topic', policyType: 'AWS::SNS::TopicPolicy', targets: 'Topics', action: 'sns:*' });
}
