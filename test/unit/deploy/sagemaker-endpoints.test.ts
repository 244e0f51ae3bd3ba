import { describe, expect, it } from 'vitest';
import { sageMakerEndpointResources } from '../../../deploy/sagemaker-endpoints';
import { parseEndpointConfig } from '../../../lib/core/endpoint-registry';

const IMAGE = '763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.29.0-lmi11.0.0-cu124';

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
    const statements = JSON.stringify(Resources.SageMakerExecutionRole?.Properties);
    expect(statements).toContain('arn:aws:ecr:us-east-1:763104351884:repository/djl-inference"');
    expect(statements).toContain('arn:aws:s3:::models-bucket/llama/model.tar.gz');
    expect(statements).not.toContain('s3:*');
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
