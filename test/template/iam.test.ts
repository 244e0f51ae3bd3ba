import { describe, expect, inject, it } from 'vitest';
import { asArray, copyOf, findHardCodedPartitions, propertyAt, readPackagedTemplate, referencedIds, type CfnTemplate, type PolicyStatement } from './cloudformation-template';
import { actionPatternMatches, allPolicyStatements, findAuditQueueSenderProblems, findAuditWritersOutsideDeleteDeny, findDirectKeyUseGrants, findFunctionRolesThatCanDestroyAudit, findWildcardActions, findWildcardResources } from './iam-checks';

const template = readPackagedTemplate(inject('packageDir'));

/** The statements of a role's first inline policy, to weaken in place. */
function inlineStatements(t: CfnTemplate, roleId: string): PolicyStatement[] {
  const policies = t.Resources[roleId]!.Properties!.Policies as Array<{ PolicyDocument: { Statement: PolicyStatement[] } }>;
  return policies[0]!.PolicyDocument.Statement;
}

describe('IAM in the packaged template', () => {
  it('grants no Action "*" in any policy, identity or resource', () => {
    expect(findWildcardActions(template)).toEqual([]);
  });

  it('writes every ARN in the partition it is deployed to, never `arn:aws:` outright', () => {
    expect(findHardCodedPartitions(template)).toEqual([]);
  });

  it('catches an ARN with the aws partition written out', () => {
    const weakened = copyOf(template);
    inlineStatements(weakened, 'NotFoundFunctionRole').push({ Effect: 'Allow', Action: 'logs:PutLogEvents', Resource: { 'Fn::Sub': 'arn:aws:logs:${AWS::Region}:${AWS::AccountId}:log-group:x' } });
    expect(findHardCodedPartitions(weakened)).toEqual([
      expect.stringMatching(/^NotFoundFunctionRole\.Properties\.Policies\[0\]\.PolicyDocument\.Statement\[\d+\]\.Resource\.Fn::Sub: arn:aws:logs:/),
    ]);
  });

  it('catches Action "*" granted to a function role', () => {
    const weakened = copyOf(template);
    inlineStatements(weakened, 'NotFoundFunctionRole').push({ Effect: 'Allow', Action: '*', Resource: { 'Fn::GetAtt': ['UsageQueue', 'Arn'] } });
    expect(findWildcardActions(weakened)).toEqual(['NotFoundFunctionRole.not-found[2]: Action "*"']);
  });

  it('grants Resource "*" only for the actions AWS cannot scope (X-Ray segments)', () => {
    expect(findWildcardResources(template)).toEqual([]);
    // The exemption is in use, so this test also shows the allow-list is not vacuous.
    expect(inlineStatements(template, 'InvokeFunctionRole').some((s) => s.Resource === '*')).toBe(true);
  });

  it('catches a scopable action granted on Resource "*"', () => {
    const weakened = copyOf(template);
    inlineStatements(weakened, 'InvokeFunctionRole').find((s) => s.Action === 'sqs:SendMessage')!.Resource = '*';
    expect(findWildcardResources(weakened)).toEqual(['InvokeFunctionRole.invoke[7]: Resource "*" for sqs:SendMessage']);
  });

  it('lets the auditor policy send only to the readers\' queue, the one whose messages the archiver holds to audit reads', () => {
    const sends = allPolicyStatements(template).filter(
      ({ where, statement }) => where.startsWith('AuditorPolicy[') && statement.Effect === 'Allow' && asArray(statement.Action).some((action) => action.startsWith('sqs:')),
    );
    expect(sends.map(({ statement }) => [...referencedIds(statement.Resource)])).toEqual([['AuditReadsQueue']]);
    expect(referencedIds(propertyAt(template.Resources.AuditArchiverLambdaFunction!.Properties, 'Environment.Variables.AUDIT_READS_QUEUE_ARN'))).toEqual(new Set(['AuditReadsQueue']));
  });

  it('lets functions and people (the stack\'s managed policies) use the data key only through S3, SQS and DynamoDB (kms:ViaService), never decrypt directly', () => {
    expect(findDirectKeyUseGrants(template, 'DataKey')).toEqual([]);
  });

  it('catches a function role granted the data key without kms:ViaService', () => {
    const weakened = copyOf(template);
    const grant = inlineStatements(weakened, 'AuditDigestFunctionRole').find((s) => asArray(s.Action).includes('kms:Decrypt'))!;
    delete grant.Condition;
    expect(findDirectKeyUseGrants(weakened, 'DataKey')).toEqual([expect.stringMatching(/^AuditDigestFunctionRole\.audit-digest\[\d+\]: kms:GenerateDataKey, kms:Decrypt on DataKey/)]);
  });

  it('lets function roles update limit counters in the limits table, never a tenant\'s budget there', () => {
    // Any grant that can write an item there (UpdateItem, PutItem, DeleteItem, BatchWriteItem, or a wildcard covering one).
    const writes = ['dynamodb:UpdateItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'];
    const updates = allPolicyStatements(template).filter(
      ({ where, statement }) =>
        !where.startsWith('GovernanceAdminPolicy[') &&
        statement.Effect === 'Allow' &&
        asArray(statement.Action).some((pattern) => writes.some((action) => actionPatternMatches(String(pattern), action))) &&
        JSON.stringify(statement.Resource).includes('LimitsTable'),
    );
    expect(updates.map(({ where }) => where.split('.')[0]).sort()).toEqual(['AsyncWorkerFunctionRole', 'InvokeFunctionRole', 'OpenaiFunctionRole']);
    for (const { statement } of updates) {
      const allowed = asArray(propertyAt(statement.Condition, 'ForAllValues:StringLike.dynamodb:LeadingKeys') as unknown[] | undefined) as string[];
      const matches = (key: string) => allowed.some((pattern) => new RegExp(`^${pattern.replace(/\*/g, '.*')}$`).test(key));
      expect(matches('key#key_0123456789abcdef#requests#2026-12-06T10:00')).toBe(true);
      expect(matches('tenant#acme#cost#2026-12')).toBe(true);
      expect(matches('budget#acme')).toBe(false);
    }
  });

  it('names every function role that writes to the audit bucket in the bucket policy\'s deny of deletes', () => {
    expect(findAuditWritersOutsideDeleteDeny(template, 'AuditBucket', 'DenyWritersDeletesAndRetentionChanges')).toEqual([]);
  });

  it('catches a writer of the audit bucket left out of the deny', () => {
    const weakened = copyOf(template);
    const deny = (weakened.Resources.AuditBucketPolicy!.Properties!.PolicyDocument as { Statement: PolicyStatement[] }).Statement.find(
      (statement) => statement.Sid === 'DenyWritersDeletesAndRetentionChanges',
    )!;
    (deny.Condition!.ArnLike!['aws:PrincipalArn'] as unknown[]).shift();
    expect(findAuditWritersOutsideDeleteDeny(weakened, 'AuditBucket', 'DenyWritersDeletesAndRetentionChanges')).toEqual([
      expect.stringMatching(/^InvokeFunctionRole \(modelgate-[a-z0-9-]+-invoke\): writes to AuditBucket/),
    ]);
  });

  it('lets only the functions that audit requests send to the audit queue, each of them named in the queue policy', () => {
    expect(findAuditQueueSenderProblems(template, 'AuditQueue', 'OnlyGatewayFunctionsWriteAuditRecords')).toEqual([]);
  });

  it('catches an auditing function left out of the audit queue policy, and the policy without its deny', () => {
    // Prepare
    const statementsOfQueuePolicy = (t: CfnTemplate) => (t.Resources.QueuesRequireTls!.Properties!.PolicyDocument as { Statement: PolicyStatement[] }).Statement;
    const missingWorker = copyOf(template);
    const deny = statementsOfQueuePolicy(missingWorker).find((statement) => statement.Sid === 'OnlyGatewayFunctionsWriteAuditRecords')!;
    const allowed = deny.Condition!.ArnNotLike!['aws:PrincipalArn'] as unknown[];
    allowed.splice(allowed.findIndex((arn) => JSON.stringify(arn).endsWith('-async-worker"}')), 1);
    const withoutDeny = copyOf(template);
    const statements = statementsOfQueuePolicy(withoutDeny);
    statements.splice(statements.findIndex((statement) => statement.Sid === 'OnlyGatewayFunctionsWriteAuditRecords'), 1);
    // Act, Assess
    expect(findAuditQueueSenderProblems(missingWorker, 'AuditQueue', 'OnlyGatewayFunctionsWriteAuditRecords')).toEqual([
      expect.stringMatching(/^AsyncWorkerFunctionRole \(modelgate-[a-z0-9-]+-async-worker\): granted sqs:SendMessage on AuditQueue, refused by OnlyGatewayFunctionsWriteAuditRecords$/),
    ]);
    expect(findAuditQueueSenderProblems(withoutDeny, 'AuditQueue', 'OnlyGatewayFunctionsWriteAuditRecords')).toEqual([
      'AuditQueue: no statement OnlyGatewayFunctionsWriteAuditRecords denying sqs:SendMessage on it',
    ]);
  });

  it('lets no function delete audit objects or loosen the audit bucket', () => {
    expect(findFunctionRolesThatCanDestroyAudit(template, 'AuditBucket')).toEqual([]);
  });

  it('catches delete rights on audit objects, s3:* on everything, an attached policy and an opaque managed policy', () => {
    // Prepare
    const weakened = copyOf(template);
    inlineStatements(weakened, 'InvokeFunctionRole').push({ Effect: 'Allow', Action: 's3:DeleteObject*', Resource: { 'Fn::Sub': '${AuditBucket.Arn}/audit/*' } });
    inlineStatements(weakened, 'NotFoundFunctionRole').push({ Effect: 'Allow', Action: ['s3:*'], Resource: '*' });
    weakened.Resources.ArchiverLifecyclePolicy = {
      Type: 'AWS::IAM::Policy',
      Properties: {
        PolicyName: 'lifecycle',
        Roles: [{ Ref: 'InvokeFunctionRole' }],
        PolicyDocument: { Statement: [{ Effect: 'Allow', Action: 's3:PutLifecycleConfiguration', Resource: { 'Fn::GetAtt': ['AuditBucket', 'Arn'] } }] },
      },
    };
    weakened.Resources.NotFoundFunctionRole!.Properties!.ManagedPolicyArns = ['arn:aws:iam::aws:policy/AmazonS3FullAccess'];
    // Act
    const findings = findFunctionRolesThatCanDestroyAudit(weakened, 'AuditBucket');
    // Assess
    expect(findings).toEqual(
      expect.arrayContaining([
        'InvokeFunctionRole.invoke[11]: s3:DeleteObject, s3:DeleteObjectVersion, s3:DeleteObjectTagging on AuditBucket',
        'ArchiverLifecyclePolicy[0]: s3:PutLifecycleConfiguration on AuditBucket',
        'NotFoundFunctionRole: managed policies the template cannot show (["arn:aws:iam::aws:policy/AmazonS3FullAccess"])',
        expect.stringMatching(/^NotFoundFunctionRole\.not-found\[2\]: s3:DeleteObject, .*s3:PutObjectRetention.*s3:PutLifecycleConfiguration/),
      ]),
    );
    expect(findings).toHaveLength(4);
  });
});
