import type { EndpointConfig, ManagedSageMakerEndpoint } from '../lib/core/endpoint-config';

/** A CloudFormation resource, as the template holds it. */
interface Resource {
  Type: string;
  DependsOn?: string[];
  Properties: Record<string, unknown>;
}

/** `llama-chat.v2` → `LlamaChatV2`: CloudFormation logical ids are alphanumeric. */
function logicalName(name: string): string {
  return name
    .split(/[^a-zA-Z0-9]+/)
    .filter((part) => part !== '')
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join('');
}

/**
 * The CloudFormation resources for the SageMaker endpoints the config asks the stack to create:
 * per endpoint a model, an endpoint config, the endpoint, and target-tracking autoscaling on
 * `SageMakerVariantInvocationsPerInstance` between its min and max instances. One execution role
 * serves them all, allowed to pull the images and read the model artifacts it names, nothing more.
 */
export function sageMakerEndpointResources(config: EndpointConfig, stage: string): { Resources: Record<string, Resource> } {
  const managed = config.sagemakerEndpoints;
  const resources: Record<string, Resource> = {};
  if (managed.length === 0) return { Resources: resources };

  const artifacts = managed.flatMap((endpoint) => (endpoint.modelDataUrl ? [endpoint.modelDataUrl] : []));
  resources.SageMakerExecutionRole = {
    Type: 'AWS::IAM::Role',
    Properties: {
      RoleName: `modelgate-${stage}-sagemaker`,
      AssumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { Service: 'sagemaker.amazonaws.com' }, Action: 'sts:AssumeRole' }],
      },
      Policies: [
        {
          PolicyName: 'inference',
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              // GetAuthorizationToken has no resource-level permissions: AWS requires "*".
              { Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' },
              {
                Effect: 'Allow',
                Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
                Resource: [...new Set(managed.map((endpoint) => repositoryInArn(endpoint.image)))].map(inPartition),
              },
              {
                Effect: 'Allow',
                Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'],
                Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/sagemaker/Endpoints/*' },
              },
              ...(artifacts.length > 0
                ? [{ Effect: 'Allow', Action: 's3:GetObject', Resource: artifacts.map((url) => inPartition(`:s3:::${url.slice('s3://'.length)}`)) }]
                : []),
            ],
          },
        },
      ],
    },
  };

  for (const endpoint of managed) {
    const id = `SageMaker${logicalName(endpoint.name)}`;
    resources[`${id}Model`] = {
      Type: 'AWS::SageMaker::Model',
      Properties: {
        ExecutionRoleArn: { 'Fn::GetAtt': ['SageMakerExecutionRole', 'Arn'] },
        PrimaryContainer: {
          Image: endpoint.image,
          ...(endpoint.modelDataUrl ? { ModelDataUrl: endpoint.modelDataUrl } : {}),
          Environment: endpoint.environment,
        },
      },
    };
    resources[`${id}EndpointConfig`] = {
      Type: 'AWS::SageMaker::EndpointConfig',
      Properties: {
        KmsKeyId: { 'Fn::GetAtt': ['DataKey', 'Arn'] },
        ProductionVariants: [
          {
            VariantName: endpoint.variantName,
            ModelName: { 'Fn::GetAtt': [`${id}Model`, 'ModelName'] },
            InstanceType: endpoint.instanceType,
            InitialInstanceCount: endpoint.autoscaling.minInstances,
            InitialVariantWeight: 1,
          },
        ],
      },
    };
    resources[`${id}Endpoint`] = {
      Type: 'AWS::SageMaker::Endpoint',
      Properties: { EndpointName: endpoint.name, EndpointConfigName: { 'Fn::GetAtt': [`${id}EndpointConfig`, 'EndpointConfigName'] } },
    };
    Object.assign(resources, autoscaling(id, endpoint));
  }
  return { Resources: resources };
}

function autoscaling(id: string, endpoint: ManagedSageMakerEndpoint): Record<string, Resource> {
  const scaling = endpoint.autoscaling;
  return {
    [`${id}ScalableTarget`]: {
      Type: 'AWS::ApplicationAutoScaling::ScalableTarget',
      DependsOn: [`${id}Endpoint`],
      Properties: {
        ServiceNamespace: 'sagemaker',
        ScalableDimension: 'sagemaker:variant:DesiredInstanceCount',
        ResourceId: `endpoint/${endpoint.name}/variant/${endpoint.variantName}`,
        MinCapacity: scaling.minInstances,
        MaxCapacity: scaling.maxInstances,
        // The service-linked role Application Auto Scaling creates for SageMaker.
        RoleARN: {
          'Fn::Sub':
            'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint',
        },
      },
    },
    [`${id}ScalingPolicy`]: {
      Type: 'AWS::ApplicationAutoScaling::ScalingPolicy',
      Properties: {
        PolicyName: `${endpoint.name}-invocations-per-instance`,
        PolicyType: 'TargetTrackingScaling',
        ScalingTargetId: { Ref: `${id}ScalableTarget` },
        TargetTrackingScalingPolicyConfiguration: {
          TargetValue: scaling.targetInvocationsPerInstance,
          PredefinedMetricSpecification: { PredefinedMetricType: 'SageMakerVariantInvocationsPerInstance' },
          ScaleInCooldown: scaling.scaleInCooldownSeconds,
          ScaleOutCooldown: scaling.scaleOutCooldownSeconds,
        },
      },
    },
  };
}

/** `123456789012.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.29.0` → its repository's ARN after the partition. */
function repositoryInArn(image: string): string {
  const [host = '', ...path] = image.split('/');
  const [account, , , region] = host.split('.');
  const repository = path.join('/').replace(/[:@].*$/, '');
  return `:ecr:${region}:${account}:repository/${repository}`;
}

/** An ARN CloudFormation completes at deploy time. */
type CfnArn = { 'Fn::Join': [string, unknown[]] };

/**
 * An ARN in the partition the stack is deployed to (`aws`, `aws-cn`, `aws-us-gov`), not always
 * `aws`. Joined rather than substituted: an S3 key may hold `${`, which `Fn::Sub` would read.
 */
function inPartition(afterPartition: string): CfnArn {
  return { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, afterPartition]] };
}
