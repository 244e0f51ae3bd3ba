import { describe, expect, inject, it } from 'vitest';
import {
  findAuditRetentionProblems,
  findBucketsWithoutPublicAccessBlock,
  findBucketsWithoutTlsPolicy,
  findOverwritablePrefix,
  findUnencryptedBuckets,
} from './bucket-checks';
import { copyOf, propertyAt, readPackagedTemplate, resourcesOfType, statementsOf, type CfnTemplate } from './cloudformation-template';
import { findQueuesWithoutDeadLetterQueue, findQueuesWithoutTlsPolicy, findUnencryptedQueues, findVisibilityTimeoutsTooShort } from './queue-checks';

const template = readPackagedTemplate(inject('packageDir'));

function bucketEncryption(t: CfnTemplate, bucketId: string): Record<string, unknown> {
  return propertyAt(t.Resources[bucketId]!.Properties, 'BucketEncryption.ServerSideEncryptionConfiguration.0') as Record<string, unknown>;
}

describe('S3 buckets in the packaged template', () => {
  it('covers every bucket, the deployment bucket included', () => {
    expect(Object.values(template.Resources).filter((r) => r.Type === 'AWS::S3::Bucket').length).toBeGreaterThanOrEqual(2);
    expect(template.Resources.ServerlessDeploymentBucket?.Type).toBe('AWS::S3::Bucket');
  });

  it('encrypts every bucket with SSE-KMS and an S3 Bucket Key', () => {
    expect(findUnencryptedBuckets(template)).toEqual([]);
  });

  it('catches a bucket on SSE-S3, one without a bucket key, and a new bucket without encryption', () => {
    // Prepare
    const weakened = copyOf(template);
    (bucketEncryption(weakened, 'ServerlessDeploymentBucket').ServerSideEncryptionByDefault as Record<string, unknown>).SSEAlgorithm = 'AES256';
    delete bucketEncryption(weakened, 'AuditBucket').BucketKeyEnabled;
    weakened.Resources.ReportsBucket = { Type: 'AWS::S3::Bucket', Properties: {} };
    // Act / Assess
    expect(findUnencryptedBuckets(weakened)).toEqual([
      'ServerlessDeploymentBucket: encryption AES256, not SSE-KMS',
      'AuditBucket: no S3 Bucket Key',
      'ReportsBucket: no default encryption',
    ]);
  });

  it('turns on all four Block Public Access switches on every bucket', () => {
    expect(findBucketsWithoutPublicAccessBlock(template)).toEqual([]);
  });

  it('catches one switch turned off', () => {
    const weakened = copyOf(template);
    (weakened.Resources.AuditBucket!.Properties!.PublicAccessBlockConfiguration as Record<string, unknown>).RestrictPublicBuckets = false;
    expect(findBucketsWithoutPublicAccessBlock(weakened)).toEqual(['AuditBucket: RestrictPublicBuckets is not true']);
  });

  it('gives every bucket a policy denying plain HTTP and TLS below 1.2', () => {
    expect(findBucketsWithoutTlsPolicy(template)).toEqual([]);
  });

  it('catches a policy without the TLS-version deny, and one whose transport deny never applies', () => {
    // Prepare
    const weakened = copyOf(template);
    const audit = weakened.Resources.AuditBucketPolicy!.Properties!.PolicyDocument as { Statement: unknown[] };
    audit.Statement = statementsOf(audit).filter((statement) => statement.Sid !== 'DenyTlsBelow12');
    const keys = statementsOf(weakened.Resources.ServerlessDeploymentBucketPolicy!.Properties!.PolicyDocument);
    keys.find((statement) => statement.Sid === 'DenyInsecureTransport')!.Condition = { Bool: { 'aws:SecureTransport': 'true' } };
    // Act / Assess
    expect(findBucketsWithoutTlsPolicy(weakened)).toEqual([
      'ServerlessDeploymentBucket: no policy statement denying aws:SecureTransport=false',
      'AuditBucket: no policy statement denying s3:TlsVersion < 1.2',
    ]);
  });

  it('takes each stored async request body once: no put under requests/ may replace one', () => {
    expect(findOverwritablePrefix(template, 'AsyncBucket', 'requests/')).toEqual([]);
  });

  it('catches the create-only deny removed, and one whose condition never applies', () => {
    // Prepare
    const removed = copyOf(template);
    const document = removed.Resources.AsyncBucketPolicy!.Properties!.PolicyDocument as { Statement: unknown[] };
    document.Statement = statementsOf(document).filter((statement) => statement.Sid !== 'DenyRequestBodyOverwrites');
    const inverted = copyOf(template);
    statementsOf(inverted.Resources.AsyncBucketPolicy!.Properties!.PolicyDocument).find((statement) => statement.Sid === 'DenyRequestBodyOverwrites')!.Condition = {
      Null: { 's3:if-none-match': 'false' },
    };
    // Act / Assess
    const finding = 'AsyncBucket: no policy statement denying s3:PutObject under requests/ without If-None-Match';
    expect(findOverwritablePrefix(removed, 'AsyncBucket', 'requests/')).toEqual([finding]);
    expect(findOverwritablePrefix(inverted, 'AsyncBucket', 'requests/')).toEqual([finding]);
  });

  it('expires audit objects, current and noncurrent versions, within 30 days', () => {
    expect(findAuditRetentionProblems(template, 'AuditBucket')).toEqual([]);
  });

  it('catches a 90-day expiry, a rule narrowed to a prefix, and noncurrent versions kept', () => {
    const rules = (t: CfnTemplate) => propertyAt(t.Resources.AuditBucket!.Properties, 'LifecycleConfiguration.Rules') as Array<Record<string, unknown>>;
    const longer = copyOf(template);
    rules(longer)[0]!.ExpirationInDays = 90;
    const narrowed = copyOf(template);
    rules(narrowed)[0]!.Prefix = 'audit/v1/dt=2026';
    const noncurrentKept = copyOf(template);
    delete rules(noncurrentKept)[0]!.NoncurrentVersionExpiration;

    expect(findAuditRetentionProblems(longer, 'AuditBucket')).toEqual(['AuditBucket: no enabled whole-bucket rule expiring objects within 30 days']);
    expect(findAuditRetentionProblems(narrowed, 'AuditBucket')).toHaveLength(2);
    expect(findAuditRetentionProblems(noncurrentKept, 'AuditBucket')).toEqual(['AuditBucket: noncurrent versions are not expired within 30 days']);
  });
});

describe('SQS queues in the packaged template', () => {
  it('encrypts every queue, dead-letter queues included, with KMS', () => {
    expect(findUnencryptedQueues(template)).toEqual([]);
  });

  it('catches a dead-letter queue left unencrypted', () => {
    const weakened = copyOf(template);
    delete weakened.Resources.UsageDeadLetterQueue!.Properties!.KmsMasterKeyId;
    expect(findUnencryptedQueues(weakened)).toEqual(['UsageDeadLetterQueue: not encrypted with a KMS key']);
  });

  it('gives every queue, dead-letter queues included, a policy denying plain HTTP', () => {
    expect(findQueuesWithoutTlsPolicy(template)).toEqual([]);
  });

  it('catches a new queue left out of the policy or out of its statement, and a transport deny that never applies', () => {
    // Prepare
    const withNewQueue = copyOf(template);
    withNewQueue.Resources.JobsQueue = { Type: 'AWS::SQS::Queue', Properties: { KmsMasterKeyId: 'alias/x' } };
    const listedOnly = copyOf(withNewQueue);
    (listedOnly.Resources.QueuesRequireTls!.Properties!.Queues as unknown[]).push({ Ref: 'JobsQueue' });
    const neverApplies = copyOf(template);
    statementsOf(neverApplies.Resources.QueuesRequireTls!.Properties!.PolicyDocument)[0]!.Condition = { Bool: { 'aws:SecureTransport': 'true' } };
    // Act / Assess
    expect(findQueuesWithoutTlsPolicy(withNewQueue)).toEqual(['JobsQueue: no policy statement denying aws:SecureTransport=false']);
    expect(findQueuesWithoutTlsPolicy(listedOnly)).toEqual(['JobsQueue: no policy statement denying aws:SecureTransport=false']);
    expect(findQueuesWithoutTlsPolicy(neverApplies)).toHaveLength(resourcesOfType(template, 'AWS::SQS::Queue').length);
  });

  it('gives every queue but the dead-letter queues a redrive policy to one', () => {
    expect(findQueuesWithoutDeadLetterQueue(template)).toEqual([]);
  });

  it('catches a new queue without a dead-letter queue', () => {
    const weakened = copyOf(template);
    weakened.Resources.JobsQueue = { Type: 'AWS::SQS::Queue', Properties: { KmsMasterKeyId: 'alias/x' } };
    expect(findQueuesWithoutDeadLetterQueue(weakened)).toEqual(['JobsQueue: no RedrivePolicy to a dead-letter queue']);
  });

  it('keeps each queue visible for at least 6× the timeout of the function it triggers', () => {
    expect(findVisibilityTimeoutsTooShort(template)).toEqual([]);
  });

  it('catches a consumer whose timeout outgrows its queue, and accepts one that fits', () => {
    // Prepare: another consumer on the usage queue (VisibilityTimeout 400 s).
    const withConsumer = (timeout: number) => {
      const t = copyOf(template);
      t.Resources.UsageConsumerLambdaFunction = { Type: 'AWS::Lambda::Function', Properties: { Timeout: timeout } };
      t.Resources.UsageConsumerEventSourceMappingSQSUsageQueue = {
        Type: 'AWS::Lambda::EventSourceMapping',
        Properties: {
          EventSourceArn: { 'Fn::GetAtt': ['UsageQueue', 'Arn'] },
          FunctionName: { 'Fn::GetAtt': ['UsageConsumerLambdaFunction', 'Arn'] },
          MaximumBatchingWindowInSeconds: 5,
        },
      };
      return t;
    };
    // Act / Assess
    expect(findVisibilityTimeoutsTooShort(withConsumer(65))).toEqual([]);
    expect(findVisibilityTimeoutsTooShort(withConsumer(66))).toEqual([
      'UsageQueue: VisibilityTimeout 400 s < 6 × UsageConsumerLambdaFunction timeout 66 s + batching window 5 s (UsageConsumerEventSourceMappingSQSUsageQueue)',
    ]);
  });
});
