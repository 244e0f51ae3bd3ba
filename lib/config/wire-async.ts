import { createS3Client, createSqsClient, type S3Caller } from '../adapters/aws-clients';
import { createDynamoDbJobStore } from '../adapters/dynamodb-job-store';
import { dynamoDbClient, wireKeyStore } from './wire-governance';
import { createS3DownloadLinks } from '../adapters/s3-download-links';
import { createS3ObjectStore } from '../adapters/s3-object-store';
import { createSqsAsyncRequestQueue } from '../adapters/sqs-async-request-queue';
import { createSqsAuditSink } from '../adapters/sqs-audit-sink';
import { createSqsUsageSink } from '../adapters/sqs-usage-sink';
import { systemClock } from '../adapters/system-clock';
import type { AsyncWorkerDeps } from '../core/async/run-async-message';
import type { AsyncSubmissionDeps } from '../core/async/serve-async-submission';
import { newRequestId } from '../http/request-id';
import type { RequestStatusDeps } from '../core/async/serve-request-status';
import { ConfigError } from '../core/errors';
import type { Environment } from './environment';
import { loadEndpointRegistry } from './load-endpoint-registry';
import { wireInvocation } from './wire-invocation';

type AsyncEnvironment = Environment & { ASYNC_QUEUE_URL: string; ASYNC_REQUESTS_TABLE: string; ASYNC_BUCKET: string };

/** @throws ConfigError naming the async variables a function needs and lacks. */
function requireAsync(env: Environment, needed: ReadonlyArray<'ASYNC_QUEUE_URL' | 'ASYNC_REQUESTS_TABLE' | 'ASYNC_BUCKET'>): AsyncEnvironment {
  const missing = needed.filter((name) => !env[name]);
  if (missing.length > 0) throw new ConfigError(`Invalid environment: ${missing.map((name) => `${name}: required`).join('; ')}`);
  return env as AsyncEnvironment;
}

function asyncBucket(env: AsyncEnvironment, caller: S3Caller) {
  const s3 = createS3Client(env, caller);
  // The stack's data key encrypts the async bucket as it does the others (SSE-KMS, bucket key).
  return { s3, objects: createS3ObjectStore(s3, { bucket: env.ASYNC_BUCKET, kmsKeyId: env.AUDIT_KMS_KEY_ID }) };
}

/** `POST /serving-endpoints/{name}/async-invocations`: keys, the job store, the queue, the bucket, audit and usage for refusals. */
export function wireAsyncSubmission(env: Environment): AsyncSubmissionDeps {
  const asyncEnv = requireAsync(env, ['ASYNC_QUEUE_URL', 'ASYNC_REQUESTS_TABLE', 'ASYNC_BUCKET']);
  const { s3, objects } = asyncBucket(asyncEnv, 'behind-api-gateway');
  const sqs = createSqsClient(env);
  // No model backends here: submission only checks and queues.
  return {
    endpoints: loadEndpointRegistry(env.ENDPOINTS_CONFIG),
    keys: wireKeyStore(env),
    jobs: createDynamoDbJobStore(dynamoDbClient(env), asyncEnv.ASYNC_REQUESTS_TABLE),
    queue: createSqsAsyncRequestQueue(sqs, asyncEnv.ASYNC_QUEUE_URL),
    objects,
    audit: createSqsAuditSink(sqs, { queueUrl: env.AUDIT_QUEUE_URL, bodies: createS3ObjectStore(s3, { bucket: env.AUDIT_BUCKET, kmsKeyId: env.AUDIT_KMS_KEY_ID }) }),
    usage: createSqsUsageSink(sqs, env.USAGE_QUEUE_URL),
    clock: systemClock,
    settings: { idempotencyWindowSeconds: env.ASYNC_IDEMPOTENCY_WINDOW_SECONDS, retentionDays: env.ASYNC_RETENTION_DAYS },
    newRequestId,
  };
}

/** The worker: everything the synchronous path calls models with, plus the job store, queue and bucket. */
export function wireAsyncWorker(env: Environment): AsyncWorkerDeps {
  const asyncEnv = requireAsync(env, ['ASYNC_QUEUE_URL', 'ASYNC_REQUESTS_TABLE', 'ASYNC_BUCKET']);
  // One S3 client for the audit bodies and the async bucket (both background work), one SQS client
  // for the audit hand-off and the request queue.
  const { s3, objects } = asyncBucket(asyncEnv, 'background');
  const sqs = createSqsClient(env);
  return {
    ...wireInvocation(env, 'background', { s3, sqs }),
    jobs: createDynamoDbJobStore(dynamoDbClient(env), asyncEnv.ASYNC_REQUESTS_TABLE),
    queue: createSqsAsyncRequestQueue(sqs, asyncEnv.ASYNC_QUEUE_URL),
    objects,
    retry: { maxReceiveCount: env.ASYNC_MAX_RECEIVE_COUNT, baseDelaySeconds: env.ASYNC_RETRY_BASE_SECONDS, maxDelaySeconds: env.ASYNC_RETRY_MAX_SECONDS },
    leaseMs: env.ASYNC_LEASE_SECONDS * 1000,
    retentionDays: env.ASYNC_RETENTION_DAYS,
  };
}

/** `GET /requests/{id}`: keys, the job store, the results in the bucket (and links to large ones). */
export function wireRequestStatus(env: Environment): RequestStatusDeps {
  const asyncEnv = requireAsync(env, ['ASYNC_REQUESTS_TABLE', 'ASYNC_BUCKET']);
  const { s3, objects } = asyncBucket(asyncEnv, 'behind-api-gateway');
  return {
    keys: wireKeyStore(env),
    jobs: createDynamoDbJobStore(dynamoDbClient(env), asyncEnv.ASYNC_REQUESTS_TABLE),
    objects,
    links: createS3DownloadLinks(s3, asyncEnv.ASYNC_BUCKET),
  };
}
