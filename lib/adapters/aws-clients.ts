import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Environment } from '../config/environment';

// The SDK's Node handler keeps connections alive by default; a short connect timeout makes an
// unreachable endpoint fail fast instead of eating the request's deadline.
const requestHandler = { connectionTimeout: 2_000 };

/** Made once per container by each entry point; locally only the endpoints differ. */
export function createS3Client(env: Environment): S3Client {
  return new S3Client({
    region: env.AWS_REGION,
    endpoint: env.AWS_ENDPOINT_URL_S3,
    forcePathStyle: env.S3_FORCE_PATH_STYLE,
    requestHandler,
  });
}

export function createSqsClient(env: Environment): SQSClient {
  return new SQSClient({ region: env.AWS_REGION, endpoint: env.AWS_ENDPOINT_URL_SQS, requestHandler });
}

export function createSageMakerRuntimeClient(env: Environment): SageMakerRuntimeClient {
  return new SageMakerRuntimeClient({
    region: env.AWS_REGION,
    endpoint: env.AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME,
    // Retries belong to routing, inside the request's deadline; the SDK's own would not know it.
    maxAttempts: 1,
    requestHandler,
  });
}

export function createKmsClient(env: Pick<Environment, 'AWS_REGION'>): KMSClient {
  return new KMSClient({ region: env.AWS_REGION, requestHandler });
}
