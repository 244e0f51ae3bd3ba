import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Environment } from '../config/environment';
import { traced } from '../http/tracer';

/**
 * The SDK's Node handler keeps connections alive by default; a short connect timeout makes an
 * unreachable endpoint fail fast instead of eating the request's deadline, and a whole-call
 * timeout does the same for an endpoint that takes the request and never answers (the SDK's own
 * default waits up to 15 minutes of silence). Each timed-out attempt is a TimeoutError the SDK
 * retries as any transient failure. SageMaker has none here: a model may think for a minute, and
 * routing bounds each attempt with its own signal.
 */
function requestHandler(timeoutMs?: number) {
  return timeoutMs === undefined ? { connectionTimeout: 2_000 } : { connectionTimeout: 2_000, requestTimeout: timeoutMs, throwOnRequestTimeout: true };
}

/**
 * SQS carries the audit hand-off every answer waits on (fail-closed: 503 when it cannot be made).
 * Its calls take milliseconds; the SDK's three attempts of at most 5 s end inside API Gateway's 29 s.
 */
const SQS_CALL_TIMEOUT_MS = 5_000;
/** S3 writes whole archive batches and large audited bodies. */
const S3_CALL_TIMEOUT_MS = 30_000;
/**
 * Behind API Gateway (29 s, and functions of 28 s) the SDK's three attempts of 30 s would outlast
 * the function: it would time out before its own error, audit record and metrics. Two attempts of
 * 8 s leave room for the rest of the request.
 */
const S3_CALL_TIMEOUT_BEHIND_API_MS = 8_000;
/** DynamoDB holds the limits and keys on the request path, which fail closed: two attempts of 5 s. */
const DYNAMODB_CALL_TIMEOUT_MS = 5_000;
/** Parameter Store, Secrets Manager and KMS: on a cache miss or a digest signature. */
const CONTROL_CALL_TIMEOUT_MS = 10_000;

/**
 * The SQS client resolves each command's middleware chain once, not on every send (about ×0.85
 * of a call's CPU in `npm run bench:sdk-call`). Cached, the chain keeps one context for all calls of a
 * command, so it is safe only where nothing a call puts there differs between calls: true of SQS
 * (one endpoint; the queue travels in the body), not of S3, where a PutObject's bucket is written
 * there and concurrent puts to two buckets both went to one (test/unit/adapters/aws-clients.test.ts).
 * The cached chain also holds on to the first command it ran, one message, for the container's life.
 */
const stackResolvedOnce = { cacheMiddleware: true } as const;

/**
 * modelgate gives the SDK no logger, yet the SDK's logger middleware still runs on every call:
 * it copies each command's input and output through the sensitive-member filter only to hand the
 * copies to the no-op logger (about 1% of an invocation's CPU in `npm run bench:hot-path`'s
 * profile, most of it on a ten-record SendMessageBatch). Every client made here goes without it.
 */
function withoutSdkLogging<Client extends { middlewareStack: { remove(name: string): boolean } }>(client: Client): Client {
  client.middlewareStack.remove('loggerMiddleware');
  return client;
}

/** Who calls S3: a function answering through API Gateway (28 s at most), or one working in the background. */
export type S3Caller = 'behind-api-gateway' | 'background';

/**
 * The clients below are made once per container by each entry point; locally only the endpoints
 * differ. Each client is traced (an X-Ray subsegment per call) where tracing is on; elsewhere it is
 * returned as made.
 */
export function createS3Client(env: Pick<Environment, 'AWS_REGION' | 'AWS_ENDPOINT_URL_S3' | 'S3_FORCE_PATH_STYLE'>, caller: S3Caller): S3Client {
  const behindApi = caller === 'behind-api-gateway';
  return traced(
    withoutSdkLogging(
      new S3Client({
        region: env.AWS_REGION,
        endpoint: env.AWS_ENDPOINT_URL_S3,
        forcePathStyle: env.S3_FORCE_PATH_STYLE,
        ...(behindApi ? { maxAttempts: 2 } : {}),
        requestHandler: requestHandler(behindApi ? S3_CALL_TIMEOUT_BEHIND_API_MS : S3_CALL_TIMEOUT_MS),
      }),
    ),
  );
}

export function createSqsClient(env: Pick<Environment, 'AWS_REGION' | 'AWS_ENDPOINT_URL_SQS'>): SQSClient {
  return traced(withoutSdkLogging(new SQSClient({ region: env.AWS_REGION, endpoint: env.AWS_ENDPOINT_URL_SQS, requestHandler: requestHandler(SQS_CALL_TIMEOUT_MS), ...stackResolvedOnce })));
}

export function createSageMakerRuntimeClient(env: Environment): SageMakerRuntimeClient {
  return traced(
    withoutSdkLogging(
      new SageMakerRuntimeClient({
        region: env.AWS_REGION,
        endpoint: env.AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME,
        // Retries belong to routing, inside the request's deadline; the SDK's own would not know it.
        maxAttempts: 1,
        requestHandler: requestHandler(),
      }),
    ),
  );
}

/** Parameter Store, for provider API keys kept as SecureString parameters. */
export function createSsmClient(env: Environment): SSMClient {
  return withoutSdkLogging(new SSMClient({ region: env.AWS_REGION, endpoint: env.AWS_ENDPOINT_URL_SSM, requestHandler: requestHandler(CONTROL_CALL_TIMEOUT_MS) }));
}

/** Secrets Manager, for provider API keys kept as secrets. */
export function createSecretsManagerClient(env: Environment): SecretsManagerClient {
  return withoutSdkLogging(new SecretsManagerClient({ region: env.AWS_REGION, endpoint: env.AWS_ENDPOINT_URL_SECRETS_MANAGER, requestHandler: requestHandler(CONTROL_CALL_TIMEOUT_MS) }));
}

export function createKmsClient(env: Pick<Environment, 'AWS_REGION'>): KMSClient {
  return withoutSdkLogging(new KMSClient({ region: env.AWS_REGION, requestHandler: requestHandler(CONTROL_CALL_TIMEOUT_MS) }));
}

/**
 * DynamoDB through the document client (plain values in and out). Few retries: the limit step is
 * on the request path and fails closed, so a slow table should fail fast rather than eat the deadline.
 */
export function createDynamoDbClient(env: Pick<Environment, 'AWS_REGION' | 'AWS_ENDPOINT_URL_DYNAMODB'>): DynamoDBDocumentClient {
  const client = traced(
    withoutSdkLogging(new DynamoDBClient({ region: env.AWS_REGION, endpoint: env.AWS_ENDPOINT_URL_DYNAMODB, maxAttempts: 2, requestHandler: requestHandler(DYNAMODB_CALL_TIMEOUT_MS) })),
  );
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}
