import {
  asArray,
  deniesEveryoneEverything,
  deniesInsecureTransport,
  propertyAt,
  refersTo,
  resourcesOfType,
  statementsOf,
  type CfnTemplate,
  type PolicyStatement,
} from './cloudformation-template';

// Every check returns findings, one line each; an empty list means the template passes.

/** Buckets whose default encryption is not SSE-KMS with an S3 Bucket Key. */
export function findUnencryptedBuckets(template: CfnTemplate): string[] {
  return resourcesOfType(template, 'AWS::S3::Bucket').flatMap(([id, bucket]) => {
    const rules = asArray(propertyAt(bucket.Properties, 'BucketEncryption.ServerSideEncryptionConfiguration') as unknown[] | undefined);
    if (rules.length === 0) return [`${id}: no default encryption`];
    return rules.flatMap((rule) => {
      const algorithm = propertyAt(rule, 'ServerSideEncryptionByDefault.SSEAlgorithm');
      const findings: string[] = [];
      if (algorithm !== 'aws:kms' && algorithm !== 'aws:kms:dsse') findings.push(`${id}: encryption ${String(algorithm)}, not SSE-KMS`);
      if (propertyAt(rule, 'BucketKeyEnabled') !== true) findings.push(`${id}: no S3 Bucket Key`);
      return findings;
    });
  });
}

const PUBLIC_ACCESS_SWITCHES = ['BlockPublicAcls', 'BlockPublicPolicy', 'IgnorePublicAcls', 'RestrictPublicBuckets'] as const;

/** Buckets without all four Block Public Access switches on. */
export function findBucketsWithoutPublicAccessBlock(template: CfnTemplate): string[] {
  return resourcesOfType(template, 'AWS::S3::Bucket').flatMap(([id, bucket]) =>
    PUBLIC_ACCESS_SWITCHES.filter((name) => propertyAt(bucket.Properties, `PublicAccessBlockConfiguration.${name}`) !== true).map(
      (name) => `${id}: ${name} is not true`,
    ),
  );
}

function isDenyTlsBelow12(statement: PolicyStatement): boolean {
  const value = propertyAt(statement.Condition, 'NumericLessThan.s3:TlsVersion');
  return deniesEveryoneEverything(statement, 's3:*') && Number(value) >= 1.2;
}

/** Buckets whose policy does not deny plain HTTP and TLS older than 1.2 to everyone. */
export function findBucketsWithoutTlsPolicy(template: CfnTemplate): string[] {
  const policies = resourcesOfType(template, 'AWS::S3::BucketPolicy');
  return resourcesOfType(template, 'AWS::S3::Bucket').flatMap(([id]) => {
    const statements = policies
      .filter(([, policy]) => refersTo(policy.Properties?.Bucket, id))
      .flatMap(([, policy]) => statementsOf(policy.Properties?.PolicyDocument));
    const findings: string[] = [];
    if (!statements.some((statement) => deniesInsecureTransport(statement, 's3:*'))) findings.push(`${id}: no policy statement denying aws:SecureTransport=false`);
    if (!statements.some(isDenyTlsBelow12)) findings.push(`${id}: no policy statement denying s3:TlsVersion < 1.2`);
    return findings;
  });
}

/**
 * The audit bucket must forget what it holds after at most `maxDays`: an enabled whole-bucket
 * rule expiring current versions, and noncurrent ones too (a versioned bucket keeps them otherwise).
 */
export function findAuditRetentionProblems(template: CfnTemplate, auditBucketId: string, maxDays = 30): string[] {
  const bucket = template.Resources[auditBucketId];
  if (bucket?.Type !== 'AWS::S3::Bucket') return [`${auditBucketId}: no such bucket`];
  const rules = asArray(propertyAt(bucket.Properties, 'LifecycleConfiguration.Rules') as Array<Record<string, unknown>> | undefined).filter(
    (rule) => rule.Status === 'Enabled' && rule.Prefix === undefined && rule.TagFilters === undefined && rule.Filter === undefined,
  );
  const findings: string[] = [];
  const expires = rules.some((rule) => typeof rule.ExpirationInDays === 'number' && rule.ExpirationInDays >= 1 && rule.ExpirationInDays <= maxDays);
  if (!expires) findings.push(`${auditBucketId}: no enabled whole-bucket rule expiring objects within ${maxDays} days`);
  const noncurrent = rules.some((rule) => {
    const days = propertyAt(rule, 'NoncurrentVersionExpiration.NoncurrentDays') ?? rule.NoncurrentVersionExpirationInDays;
    return typeof days === 'number' && days <= maxDays;
  });
  if (!noncurrent) findings.push(`${auditBucketId}: noncurrent versions are not expired within ${maxDays} days`);
  return findings;
}

/**
 * Whether the bucket's policy denies everyone any `s3:PutObject` under `prefix` that carries no
 * If-None-Match (the condition key `s3:if-none-match` absent): objects there are written once.
 */
export function findOverwritablePrefix(template: CfnTemplate, bucketId: string, prefix: string): string[] {
  const covered = new Set([`\${${bucketId}.Arn}/${prefix}*`, `\${${bucketId}.Arn}/*`]);
  const createOnly = resourcesOfType(template, 'AWS::S3::BucketPolicy')
    .filter(([, policy]) => refersTo(policy.Properties?.Bucket, bucketId))
    .flatMap(([, policy]) => statementsOf(policy.Properties?.PolicyDocument))
    .some((statement) => {
      const everyone = statement.Principal === '*' || propertyAt(statement.Principal, 'AWS') === '*';
      const puts = asArray(statement.Action).some((action) => action === 's3:PutObject' || action === 's3:*');
      const resources = asArray(statement.Resource as unknown[] | undefined).map((resource) => propertyAt(resource, 'Fn::Sub'));
      const absent = propertyAt(statement.Condition, 'Null.s3:if-none-match');
      return statement.Effect === 'Deny' && everyone && puts && resources.some((resource) => covered.has(resource as string)) && (absent === true || absent === 'true');
    });
  return createOnly ? [] : [`${bucketId}: no policy statement denying s3:PutObject under ${prefix} without If-None-Match`];
}
