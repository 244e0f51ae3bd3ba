import { describe, expect, it } from 'vitest';
import {
  createDynamoDbClient,
  createKmsClient,
  createS3Client,
  createSageMakerRuntimeClient,
  createSecretsManagerClient,
  createSqsClient,
  createSsmClient,
} from '../../../lib/adapters/aws-clients';
import type { Environment } from '../../../lib/config/environment';

const env = { AWS_REGION: 'eu-west-1', S3_FORCE_PATH_STYLE: false } as Environment;

describe('the AWS clients modelgate makes', () => {
  it('carry no SDK logger middleware (no logger is configured; it only copied inputs and outputs for nothing)', () => {
    const clients = {
      s3: createS3Client(env),
      sqs: createSqsClient(env),
      sagemaker: createSageMakerRuntimeClient(env),
      ssm: createSsmClient(env),
      secretsManager: createSecretsManagerClient(env),
      kms: createKmsClient(env),
      dynamodb: createDynamoDbClient(env),
    };
    for (const [name, client] of Object.entries(clients)) {
      const middlewares = client.middlewareStack.identify();
      expect(middlewares.length, name).toBeGreaterThan(5);
      expect(middlewares.filter((entry) => entry.startsWith('loggerMiddleware')), name).toEqual([]);
    }
  });
});
