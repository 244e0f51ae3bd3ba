import { z } from 'zod';
import { ConfigError } from '../core/errors';
import { describeIssues } from '../core/describe-issues';

const optionalUrl = z.url().optional();

/**
 * The gateway's environment. Locally only the `AWS_ENDPOINT_URL_*` overrides differ from AWS;
 * the code path is the same.
 */
export const environmentSchema = z.object({
  AWS_REGION: z.string().min(1).default('us-east-1'),
  /** Set by Lambda itself (`AWS_Lambda_nodejs22.x`): only then is the function in AWS, not on the local stack. */
  AWS_EXECUTION_ENV: z.string().optional(),
  /** Bucket of the audit log (SSE-KMS). */
  AUDIT_BUCKET: z.string().min(3),
  /** The stack's data key for every SSE-KMS put (audit and async buckets); unset, S3 would use the account's aws/s3 key. */
  AUDIT_KMS_KEY_ID: z.string().min(1).optional(),
  /** DynamoDB table of API key records (hashes only), by key hash; indexes by key id and tenant. */
  KEYS_TABLE: z.string().min(3),
  /** DynamoDB table of the shared rate-limit and budget counters, and tenants' budgets. */
  LIMITS_TABLE: z.string().min(3),
  /** DynamoDB table of the usage ledger (one item per request id) and the hourly billing aggregates. */
  USAGE_TABLE: z.string().min(3),
  /** DynamoDB table of abuse-rule counters and findings. */
  ABUSE_TABLE: z.string().min(3),
  // Not z.url(): emulators hand out URLs such as http://sqs.us-east-1.127.0.0.1:4566/..., which
  // WHATWG parsing accepts but zod's hostname check does not.
  USAGE_QUEUE_URL: z.string().regex(/^https?:\/\/\S+$/, 'must be an http(s) queue URL'),
  /** The audit queue (SSE-KMS): every audit record is handed off here, then archived in batches. */
  AUDIT_QUEUE_URL: z.string().regex(/^https?:\/\/\S+$/, 'must be an http(s) queue URL'),
  /** Asymmetric KMS key (ECC_NIST_P256) that signs audit digests; only the digest function needs it. */
  AUDIT_SIGNING_KEY_ID: z.string().min(1).optional(),
  /**
   * The archiver: the queue where readers outside the gateway (the CLI) record their reads. What
   * arrives from it must be an audit-read record without a usage event; only the gateway's roles
   * may send to the audit queue itself.
   */
  AUDIT_READS_QUEUE_ARN: z.string().regex(/^arn:aws[a-z-]*:sqs:/, 'must be an SQS queue ARN').optional(),
  /** Local stack only: a P-256 private key (PEM) standing in for the KMS signing key. */
  AUDIT_SIGNING_KEY_FILE: z.string().min(1).optional(),
  /**
   * The deployment's stage (serverless.yml sets it). In Lambda, provider keys the endpoint config
   * names must sit where the stage's roles may read them, or the function refuses it at cold start.
   */
  MODELGATE_STAGE: z.string().min(1).optional(),
  /** Path of the endpoint configuration document, relative to the working directory. */
  ENDPOINTS_CONFIG: z.string().min(1).default('config/endpoints.json'),
  /**
   * Seconds a found API key (and a tenant's budget) is trusted before it is read again: the bound
   * on how long a revocation, suspension or budget change takes to reach every gateway instance.
   */
  KEY_CACHE_TTL_SECONDS: z.coerce.number().int().min(0).max(3600).default(30),
  /** Seconds an unknown key is remembered as unknown (absorbs key-guessing floods); capped by KEY_CACHE_TTL_SECONDS. */
  KEY_NEGATIVE_CACHE_TTL_SECONDS: z.coerce.number().int().min(0).max(60).default(5),
  /** Seconds a provider API key read from SSM or Secrets Manager is used before it is read again (bounds rotation delay). */
  SECRET_CACHE_TTL_SECONDS: z.coerce.number().int().min(0).max(3600).default(300),
  /** The async request queue (SSE-KMS, with a DLQ): submissions are sent here, the worker drains it. */
  ASYNC_QUEUE_URL: z.string().regex(/^https?:\/\/\S+$/, 'must be an http(s) queue URL').optional(),
  /** The DynamoDB table of queued requests and idempotency keys. */
  ASYNC_REQUESTS_TABLE: z.string().min(3).max(255).optional(),
  /** Bucket of async bodies sent by reference and of results (SSE-KMS). */
  ASYNC_BUCKET: z.string().min(3).optional(),
  /** The request queue's maxReceiveCount: on that delivery a failing request is marked failed and dead-lettered. */
  ASYNC_MAX_RECEIVE_COUNT: z.coerce.number().int().min(1).max(1000).default(5),
  /** Backoff before the first retry of a transient failure (seconds), doubled per retry up to ASYNC_RETRY_MAX_SECONDS. */
  ASYNC_RETRY_BASE_SECONDS: z.coerce.number().int().min(0).max(3600).default(10),
  ASYNC_RETRY_MAX_SECONDS: z.coerce.number().int().min(0).max(43_200).default(300),
  /**
   * How long a delivery's lease on a request lasts: above the worker's timeout, below the queue's
   * visibility timeout, and at most 720 s, so that a message sent again after a failed hand-off
   * (SQS delays it at most 900 s) comes back after the lease.
   */
  ASYNC_LEASE_SECONDS: z.coerce.number().int().min(1).max(720).default(120),
  /** How long requests and results are kept (days): the table's TTL and the bucket's lifecycle. */
  ASYNC_RETENTION_DAYS: z.coerce.number().int().min(1).max(365).default(7),
  /** How long an Idempotency-Key stands for its first request (seconds). */
  ASYNC_IDEMPOTENCY_WINDOW_SECONDS: z.coerce.number().int().min(60).max(7 * 86_400).default(86_400),
  AWS_ENDPOINT_URL_S3: optionalUrl,
  AWS_ENDPOINT_URL_SQS: optionalUrl,
  AWS_ENDPOINT_URL_DYNAMODB: optionalUrl,
  AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: optionalUrl,
  AWS_ENDPOINT_URL_SSM: optionalUrl,
  AWS_ENDPOINT_URL_SECRETS_MANAGER: optionalUrl,
  /** Emulators serve buckets by path, not by virtual host. */
  S3_FORCE_PATH_STYLE: z
    .enum(['true', 'false'])
    .default('false')
    .transform((value) => value === 'true'),
});

export type Environment = z.infer<typeof environmentSchema>;

/**
 * Parses the environment once, at cold start.
 * @throws ConfigError naming each missing or malformed variable.
 */
export function readEnvironment(source: NodeJS.ProcessEnv = process.env): Environment {
  const parsed = environmentSchema.safeParse(source);
  if (!parsed.success) {
    throw new ConfigError(`Invalid environment: ${describeIssues(parsed.error.issues, 10)}`, { cause: parsed.error });
  }
  return parsed.data;
}
