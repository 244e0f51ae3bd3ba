import { describe, expect, inject, it } from 'vitest';
import {
  findAlarmsThatPageNoOne,
  findDeadLetterQueuesWithoutDepthAlarm,
  findMissingApiAlarms,
  findMissingAuditHandoffAlarm,
  findMissingThrottlingAlarms,
  findTopicsWithoutTlsPolicy,
} from './alarm-checks';
import { copyOf, readPackagedTemplate } from './cloudformation-template';

const template = readPackagedTemplate(inject('packageDir'));

describe('alarms in the packaged template', () => {
  it('watches the API\'s 5xx share and p99 latency', () => {
    expect(findMissingApiAlarms(template)).toEqual([]);
  });

  it('catches the 5xx alarm removed and the latency alarm moved to p50', () => {
    const weakened = copyOf(template);
    delete weakened.Resources.ApiServerErrorRateAlarm;
    weakened.Resources.ApiLatencyP99Alarm!.Properties!.ExtendedStatistic = 'p50';
    expect(findMissingApiAlarms(weakened)).toEqual(['no alarm on API Gateway 5XXError', 'no alarm on API Gateway p99 Latency']);
  });

  it('refuses plain HTTP on the alarm topic', () => {
    expect(findTopicsWithoutTlsPolicy(template)).toEqual([]);
  });

  it('catches the alarm topic\'s transport deny removed', () => {
    const weakened = copyOf(template);
    const document = weakened.Resources.AlarmTopicPolicy!.Properties!.PolicyDocument as { Statement: Array<{ Sid?: string }> };
    document.Statement = document.Statement.filter((statement) => statement.Sid !== 'DenyInsecureTransport');
    expect(findTopicsWithoutTlsPolicy(weakened)).toEqual(['AlarmTopic: no policy statement denying aws:SecureTransport=false']);
  });

  it('watches the depth of every dead-letter queue', () => {
    expect(findDeadLetterQueuesWithoutDepthAlarm(template)).toEqual([]);
  });

  it('catches a DLQ depth alarm removed, and a new queue whose DLQ has none', () => {
    const weakened = copyOf(template);
    delete weakened.Resources.UsageDeadLetterQueueDepthAlarm;
    weakened.Resources.JobsDeadLetterQueue = { Type: 'AWS::SQS::Queue', Properties: {} };
    weakened.Resources.JobsQueue = {
      Type: 'AWS::SQS::Queue',
      Properties: { RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': ['JobsDeadLetterQueue', 'Arn'] }, maxReceiveCount: 3 } },
    };
    expect(findDeadLetterQueuesWithoutDepthAlarm(weakened)).toEqual([
      'UsageDeadLetterQueue: no depth alarm (ApproximateNumberOfMessagesVisible)',
      'JobsDeadLetterQueue: no depth alarm (ApproximateNumberOfMessagesVisible)',
    ]);
  });

  it('watches audit hand-off failures (our AuditHandoffFailure metric)', () => {
    expect(findMissingAuditHandoffAlarm(template)).toEqual([]);
  });

  it('catches the hand-off alarm removed', () => {
    const weakened = copyOf(template);
    delete weakened.Resources.AuditHandoffFailureAlarm;
    expect(findMissingAuditHandoffAlarm(weakened)).toEqual(['no alarm on modelgate AuditHandoffFailure']);
  });

  it('watches backend throttling and Lambda throttling of the capped invocation functions', () => {
    expect(findMissingThrottlingAlarms(template)).toEqual([]);
  });

  it('catches both throttling alarms removed', () => {
    const weakened = copyOf(template);
    delete weakened.Resources.BackendThrottledAlarm;
    delete weakened.Resources.InvokeThrottlesAlarm;
    delete weakened.Resources.OpenaiThrottlesAlarm;
    delete weakened.Resources.AuditDigestThrottlesAlarm;
    expect(findMissingThrottlingAlarms(weakened)).toEqual([
      'no alarm on modelgate BackendThrottled',
      'InvokeLambdaFunction: no alarm on Lambda Throttles',
      'OpenaiLambdaFunction: no alarm on Lambda Throttles',
      'AuditDigestLambdaFunction: no alarm on Lambda Throttles',
    ]);
  });

  it('sends every alarm to the stack\'s SNS topic', () => {
    expect(findAlarmsThatPageNoOne(template)).toEqual([]);
  });

  it('catches an alarm that notifies no one', () => {
    const weakened = copyOf(template);
    delete weakened.Resources.ApiLatencyP99Alarm!.Properties!.AlarmActions;
    expect(findAlarmsThatPageNoOne(weakened)).toEqual(['ApiLatencyP99Alarm: AlarmActions notify no SNS topic of the stack']);
  });
});
