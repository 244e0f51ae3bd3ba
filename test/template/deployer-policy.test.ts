import { readFileSync } from 'node:fs';
import { describe, expect, inject, it } from 'vitest';
import { asArray, copyOf, readPackagedTemplate, type CfnTemplate, type PolicyStatement } from './cloudformation-template';
import { actionPatternMatches } from './iam-checks';

// The deployer policy is written by hand and no account checks it here: what CloudFormation must
// call to create and delete each resource type of the packaged template is listed below, and a type
// this list does not know fails the test until its actions are named here and granted there.
const template = readPackagedTemplate(inject('packageDir'));
const deployerPolicy = JSON.parse(readFileSync(new URL('../../deploy/deployer-policy.json', import.meta.url), 'utf8')) as { Statement: PolicyStatement[] };

const ACTIONS_BY_TYPE: Record<string, string[]> = {
  'AWS::S3::Bucket': ['s3:CreateBucket', 's3:DeleteBucket', 's3:PutEncryptionConfiguration', 's3:PutBucketVersioning', 's3:PutLifecycleConfiguration'],
  'AWS::S3::BucketPolicy': ['s3:PutBucketPolicy', 's3:DeleteBucketPolicy'],
  'AWS::Logs::LogGroup': ['logs:CreateLogGroup', 'logs:DeleteLogGroup', 'logs:PutRetentionPolicy'],
  'AWS::Lambda::Function': ['lambda:CreateFunction', 'lambda:DeleteFunction', 'lambda:GetFunction', 'iam:PassRole'],
  'AWS::Lambda::Version': ['lambda:PublishVersion'],
  'AWS::Lambda::Permission': ['lambda:AddPermission', 'lambda:RemovePermission'],
  'AWS::Lambda::EventSourceMapping': ['lambda:CreateEventSourceMapping', 'lambda:GetEventSourceMapping', 'lambda:DeleteEventSourceMapping'],
  'AWS::Events::Rule': ['events:PutRule', 'events:DescribeRule', 'events:DeleteRule', 'events:PutTargets', 'events:RemoveTargets'],
  'AWS::ApiGateway::RestApi': ['apigateway:POST', 'apigateway:GET', 'apigateway:DELETE'],
  'AWS::ApiGateway::Resource': ['apigateway:POST', 'apigateway:DELETE'],
  'AWS::ApiGateway::Method': ['apigateway:PUT', 'apigateway:DELETE'],
  'AWS::ApiGateway::Deployment': ['apigateway:POST', 'apigateway:DELETE'],
  'AWS::ApiGateway::Stage': ['apigateway:POST', 'apigateway:PATCH', 'apigateway:DELETE'],
  'AWS::ApiGateway::Account': ['apigateway:PATCH', 'iam:PassRole'],
  'AWS::ApiGateway::DomainName': ['apigateway:POST', 'apigateway:DELETE'],
  'AWS::ApiGateway::BasePathMapping': ['apigateway:POST', 'apigateway:DELETE'],
  'AWS::ApiGateway::GatewayResponse': ['apigateway:PUT', 'apigateway:DELETE'],
  'AWS::KMS::Key': ['kms:CreateKey', 'kms:PutKeyPolicy', 'kms:EnableKeyRotation', 'kms:ScheduleKeyDeletion'],
  'AWS::DynamoDB::Table': ['dynamodb:CreateTable', 'dynamodb:DescribeTable', 'dynamodb:DeleteTable', 'dynamodb:UpdateContinuousBackups', 'dynamodb:UpdateTimeToLive'],
  'AWS::SQS::Queue': ['sqs:CreateQueue', 'sqs:GetQueueAttributes', 'sqs:DeleteQueue'],
  'AWS::SQS::QueuePolicy': ['sqs:SetQueueAttributes'],
  'AWS::Glue::Database': ['glue:CreateDatabase', 'glue:GetDatabase', 'glue:DeleteDatabase'],
  'AWS::Glue::Table': ['glue:CreateTable', 'glue:GetTable', 'glue:UpdateTable', 'glue:DeleteTable'],
  'AWS::IAM::Role': ['iam:CreateRole', 'iam:GetRole', 'iam:PutRolePolicy', 'iam:DeleteRolePolicy', 'iam:DeleteRole'],
  'AWS::IAM::ManagedPolicy': ['iam:CreatePolicy', 'iam:GetPolicy', 'iam:CreatePolicyVersion', 'iam:DeletePolicyVersion', 'iam:ListPolicyVersions', 'iam:DeletePolicy'],
  'AWS::CloudWatch::Alarm': ['cloudwatch:PutMetricAlarm', 'cloudwatch:DescribeAlarms', 'cloudwatch:DeleteAlarms'],
  'AWS::WAFv2::WebACL': ['wafv2:CreateWebACL', 'wafv2:GetWebACL', 'wafv2:DeleteWebACL'],
  'AWS::WAFv2::WebACLAssociation': ['wafv2:AssociateWebACL', 'wafv2:DisassociateWebACL'],
  'AWS::SNS::Topic': ['sns:CreateTopic', 'sns:GetTopicAttributes', 'sns:DeleteTopic'],
  'AWS::SNS::TopicPolicy': ['sns:SetTopicAttributes'],
  'AWS::SNS::Subscription': ['sns:Subscribe', 'sns:Unsubscribe'],
};

function allows(policy: { Statement: PolicyStatement[] }, action: string): boolean {
  return policy.Statement.some(
    (statement) =>
      statement.Effect === 'Allow' &&
      asArray(statement.Action).some((pattern) => actionPatternMatches(pattern, action)),
  );
}

/** What a deploy of the template would be denied, by resource type. */
function findMissingDeployerActions(t: CfnTemplate, policy: { Statement: PolicyStatement[] }): string[] {
  const findings: string[] = [];
  for (const type of new Set(Object.values(t.Resources).map((resource) => resource.Type))) {
    const actions = ACTIONS_BY_TYPE[type];
    if (actions === undefined) {
      findings.push(`${type}: no deployer actions known (name them in this test and grant them in deploy/deployer-policy.json)`);
      continue;
    }
    const missing = actions.filter((action) => !allows(policy, action));
    if (missing.length > 0) findings.push(`${type}: ${missing.join(', ')}`);
  }
  return findings.sort();
}

describe('the deployer policy (deploy/deployer-policy.json)', () => {
  it('grants what creating and deleting every resource type of the packaged template calls', () => {
    expect(findMissingDeployerActions(template, deployerPolicy)).toEqual([]);
  });

  it('catches a resource type the policy does not cover, and one this test does not know', () => {
    const withoutGlue = { Statement: deployerPolicy.Statement.filter((statement) => !asArray(statement.Action).some((action) => action.startsWith('glue:'))) };
    expect(findMissingDeployerActions(template, withoutGlue)).toEqual([
      'AWS::Glue::Database: glue:CreateDatabase, glue:GetDatabase, glue:DeleteDatabase',
      'AWS::Glue::Table: glue:CreateTable, glue:GetTable, glue:UpdateTable, glue:DeleteTable',
    ]);
    const withNewType = copyOf(template);
    withNewType.Resources.Cache = { Type: 'AWS::ElastiCache::ServerlessCache' };
    expect(findMissingDeployerActions(withNewType, deployerPolicy)).toEqual([expect.stringMatching(/^AWS::ElastiCache::ServerlessCache: no deployer actions known/)]);
  });
});
