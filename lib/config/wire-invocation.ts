import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import {
  createS3Client,
  type S3Caller,
  createSageMakerRuntimeClient,
  createSecretsManagerClient,
  createSqsClient,
  createSsmClient,
} from '../adapters/aws-clients';
import { createS3ObjectStore } from '../adapters/s3-object-store';
import { createSecretStore } from '../adapters/secret-store';
import { createSqsAuditSink } from '../adapters/sqs-audit-sink';
import { createSqsUsageSink } from '../adapters/sqs-usage-sink';
import { systemClock } from '../adapters/system-clock';
import { createAnthropicBackend } from '../backends/anthropic/create-anthropic-backend';
import { createOpenAiBackend } from '../backends/openai/create-openai-backend';
import { createSageMakerBackend } from '../backends/sagemaker/create-sagemaker-backend';
import { CircuitBreakers } from '../core/circuit-breaker';
import type { InvocationDeps } from '../core/serve-invocation';
import { isInLambda } from './tracing';
import type { Environment } from './environment';
import { loadEndpointRegistry } from './load-endpoint-registry';
import { wireKeyStore, wireRequestLimiter } from './wire-governance';

/**
 * The real adapters behind the invocation path, made once per container (by the API functions, and
 * by the async worker in the background). `clients`: those the entry point already made (the async
 * worker's, for its own bucket and queue; an S3 client with the same caller setting), shared rather
 * than made twice.
 */
export function wireInvocation(env: Environment, caller: S3Caller, clients: { s3?: S3Client; sqs?: SQSClient } = {}): InvocationDeps {
  const s3 = clients.s3 ?? createS3Client(env, caller);
  const sqs = clients.sqs ?? createSqsClient(env);
  const secrets = createSecretStore({
    ssm: createSsmClient(env),
    secretsManager: createSecretsManagerClient(env),
    cacheTtlMs: env.SECRET_CACHE_TTL_SECONDS * 1000,
  });
  return {
    endpoints: loadEndpointRegistry(env.ENDPOINTS_CONFIG, { inLambda: isInLambda(env), stage: env.MODELGATE_STAGE }),
    keys: wireKeyStore(env),
    limits: wireRequestLimiter(env),
    backends: {
      sagemaker: createSageMakerBackend(createSageMakerRuntimeClient(env)),
      openai: createOpenAiBackend({ secrets }),
      anthropic: createAnthropicBackend({ secrets }),
    },
    audit: createSqsAuditSink(sqs, {
      queueUrl: env.AUDIT_QUEUE_URL,
      bodies: createS3ObjectStore(s3, { bucket: env.AUDIT_BUCKET, kmsKeyId: env.AUDIT_KMS_KEY_ID }),
    }),
    usage: createSqsUsageSink(sqs, env.USAGE_QUEUE_URL),
    clock: systemClock,
    breakers: new CircuitBreakers(),
  };
}
