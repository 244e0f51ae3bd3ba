import { describe, expect, it } from 'vitest';
import { sageMakerEndpointResources } from '../../../deploy/sagemaker-endpoints';
import { parseEndpointConfig } from '../../../lib/core/endpoint-registry';
import { findHardCodedPartitions, type CfnTemplate } from '../../template/cloudformation-template';

const IMAGE = '763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.29.0-lmi11.0.0-cu124';

/** The template as CloudFormation would read it in `partition`: its partition joins resolved, its substitutions of it filled in. */
function inPartition(value: unknown, partition: string): unknown {
  if (Array.isArray(value)) return value.map((item) => inPartition(item, partition));
  if (typeof value !== 'object' || value === null) return value;
  const object = value as Record<string, unknown>;
  if (object.Ref === 'AWS::Partition') return partition;
  const joined = object['Fn::Join'] as [string, unknown[]] | undefined;
  if (joined !== undefined) {
    const parts = inPartition(joined[1], partition) as unknown[];
    if (parts.every((part) => typeof part === 'string')) return parts.join(joined[0]);
  }
  if (typeof object['Fn::Sub'] === 'string') return { 'Fn::Sub': object['Fn::Sub'].replaceAll('${AWS::Partition}', partition) };
  return Object.fromEntries(Object.entries(object).map(([key, item]) => [key, inPartition(item, partition)]));
}

function config(managed: unknown[]) {
  return parseEndpointConfig({
    version: 1,
    endpoints: [{ name: 'assistant', task: 'chat', servedEntities: [{ name: 'llama', backend: 'sagemaker', endpointName: 'modelgate-prod-llama' }] }],
    sagemakerEndpoints: managed,
  });
}

describe('SageMaker endpoints the stack creates', () => {
  it('declares model, endpoint config, endpoint and target tracking on invocations per instance', () => {
    // Act
    const { Resources } = sageMakerEndpointResources(
      config([
        {
          name: 'modelgate-prod-llama',
          image: IMAGE,
          modelDataUrl: 's3://models-bucket/llama/model.tar.gz',
          environment: { HF_MODEL_ID: 'meta-llama/Llama-3.1-8B-Instruct' },
          instanceType: 'ml.g5.2xlarge',
          autoscaling: { minInstances: 1, maxInstances: 4, targetInvocationsPerInstance: 120 },
        },
      ]),
      'prod',
    );
    // Assess
    expect(Resources.SageMakerModelgateProdLlamaEndpoint?.Properties).toMatchObject({ EndpointName: 'modelgate-prod-llama' });
    expect(Resources.SageMakerModelgateProdLlamaEndpointConfig?.Properties).toMatchObject({
      KmsKeyId: { 'Fn::GetAtt': ['DataKey', 'Arn'] },
      ProductionVariants: [{ VariantName: 'AllTraffic', InstanceType: 'ml.g5.2xlarge', InitialInstanceCount: 1 }],
    });
    expect(Resources.SageMakerModelgateProdLlamaScalableTarget?.Properties).toMatchObject({
      ResourceId: 'endpoint/modelgate-prod-llama/variant/AllTraffic',
      ScalableDimension: 'sagemaker:variant:DesiredInstanceCount',
      MinCapacity: 1,
      MaxCapacity: 4,
    });
    expect(Resources.SageMakerModelgateProdLlamaScalingPolicy?.Properties).toMatchObject({
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingScalingPolicyConfiguration: {
        TargetValue: 120,
        PredefinedMetricSpecification: { PredefinedMetricType: 'SageMakerVariantInvocationsPerInstance' },
      },
    });
  });

  it('gives the execution role only the image repository and artifacts it names', () => {
    const { Resources } = sageMakerEndpointResources(
      config([
        {
          name: 'modelgate-prod-llama',
          image: IMAGE,
          modelDataUrl: 's3://models-bucket/llama/model.tar.gz',
          instanceType: 'ml.g5.2xlarge',
          autoscaling: { minInstances: 1, maxInstances: 2, targetInvocationsPerInstance: 50 },
        },
      ]),
      'prod',
    );
    const statements = JSON.stringify(inPartition(Resources.SageMakerExecutionRole?.Properties, 'aws-cn'));
    expect(statements).toContain('"arn:aws-cn:ecr:us-east-1:763104351884:repository/djl-inference"');
    expect(statements).toContain('"arn:aws-cn:s3:::models-bucket/llama/model.tar.gz"');
    expect(statements).not.toContain('s3:*');
    // Every ARN names the partition the stack is deployed to, not always `aws`.
    expect(findHardCodedPartitions({ Resources } as CfnTemplate)).toEqual([]);
  });

  it('adds nothing when the config declares no SageMaker endpoints', () => {
    expect(sageMakerEndpointResources(config([]), 'dev').Resources).toEqual({});
  });

  it('refuses a min above the max, naming the field', () => {
    expect(() =>
      config([{ name: 'x', image: IMAGE, instanceType: 'ml.g5.xlarge', autoscaling: { minInstances: 3, maxInstances: 2, targetInvocationsPerInstance: 10 } }]),
    ).toThrow(/sagemakerEndpoints\[0\]\.autoscaling: minInstances must not exceed maxInstances/);
  });
});
