import { describe, expect, inject, it } from 'vitest';
import { asArray, copyOf, readPackagedTemplate, refersTo, type CfnTemplate, type PolicyStatement } from './cloudformation-template';
import { roleStatements } from './iam-checks';
import { findBroadTableGrants, findTablesWithoutKms, findTablesWithoutRecovery } from './table-checks';

const template = readPackagedTemplate(inject('packageDir'));

function inlineStatements(t: CfnTemplate, roleId: string): PolicyStatement[] {
  const policies = t.Resources[roleId]!.Properties!.Policies as Array<{ PolicyDocument: { Statement: PolicyStatement[] } }>;
  return policies[0]!.PolicyDocument.Statement;
}

describe('DynamoDB tables in the packaged template', () => {
  it('has the governance tables: keys, limits, usage and abuse', () => {
    const tables = Object.entries(template.Resources).filter(([, resource]) => resource.Type === 'AWS::DynamoDB::Table').map(([id]) => id);
    expect(tables).toEqual(expect.arrayContaining(['KeysTable', 'LimitsTable', 'UsageTable', 'AbuseTable']));
  });

  it('lets every function that calls models (the synchronous ones and the async worker) add to the limit counters, and no other', () => {
    const countersWriters = Object.entries(template.Resources)
      .filter(([, resource]) => resource.Type === 'AWS::IAM::Role')
      .filter(([roleId]) =>
        roleStatements(template, roleId).some(
          ({ statement }) => statement.Effect === 'Allow' && asArray(statement.Action).includes('dynamodb:UpdateItem') && refersTo(statement.Resource, 'LimitsTable'),
        ),
      )
      .map(([roleId]) => roleId)
      .sort();
    expect(countersWriters).toEqual(['AsyncWorkerFunctionRole', 'InvokeFunctionRole', 'OpenaiFunctionRole']);
  });

  it('encrypts every table with the stack\'s own KMS key (DataKey)', () => {
    expect(findTablesWithoutKms(template, 'DataKey')).toEqual([]);
  });

  it('catches a table on the AWS-owned key, one with SSE off, and one on another key', () => {
    // Prepare
    const weakened = copyOf(template);
    delete weakened.Resources.KeysTable!.Properties!.SSESpecification;
    (weakened.Resources.UsageTable!.Properties!.SSESpecification as Record<string, unknown>).SSEEnabled = false;
    (weakened.Resources.AbuseTable!.Properties!.SSESpecification as Record<string, unknown>).KMSMasterKeyId = 'alias/aws/dynamodb';
    // Act / Assess
    expect(findTablesWithoutKms(weakened, 'DataKey')).toEqual([
      'KeysTable: no SSESpecification (AWS-owned key)',
      'UsageTable: SSEEnabled is not true',
      'AbuseTable: not encrypted with DataKey',
    ]);
  });

  it('keeps point-in-time recovery and deletion protection on every table', () => {
    expect(findTablesWithoutRecovery(template)).toEqual([]);
  });

  it('catches a table without point-in-time recovery', () => {
    const weakened = copyOf(template);
    delete weakened.Resources.LimitsTable!.Properties!.PointInTimeRecoverySpecification;
    expect(findTablesWithoutRecovery(weakened)).toEqual(['LimitsTable: no point-in-time recovery']);
  });

  it('grants DynamoDB actions only by name, on the stack\'s tables', () => {
    expect(findBroadTableGrants(template)).toEqual([]);
  });

  it('catches dynamodb:* and a grant on every table of the account', () => {
    // Prepare
    const weakened = copyOf(template);
    inlineStatements(weakened, 'UsageAggregatorFunctionRole').push({ Effect: 'Allow', Action: 'dynamodb:*', Resource: { 'Fn::GetAtt': ['UsageTable', 'Arn'] } });
    inlineStatements(weakened, 'InvokeFunctionRole').push({ Effect: 'Allow', Action: 'dynamodb:GetItem', Resource: { 'Fn::Sub': 'arn:aws:dynamodb:${AWS::Region}:${AWS::AccountId}:table/*' } });
    // Act
    const findings = findBroadTableGrants(weakened);
    // Assess
    expect(findings).toEqual([
      expect.stringMatching(/^InvokeFunctionRole\.invoke\[\d+\]: dynamodb:GetItem on .*table\/\*.*not a table of the stack$/),
      expect.stringMatching(/^UsageAggregatorFunctionRole\.usage-aggregator\[\d+\]: wildcard action dynamodb:\*$/),
    ]);
  });
});
