import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { NoDeploymentError } from './deployment';
import { isWellFormedApiKey } from '../lib/core/api-key';

/** Where async submissions go and are read back, as the CLI reaches them. */
export interface AsyncTarget {
  description: string;
  /** The API's base URL (stage included), e.g. `https://abc.execute-api.eu-west-1.amazonaws.com/prod`. */
  apiUrl: string | undefined;
  apiKey: string | undefined;
  /** For `--via sqs` and `redrive`: the request queue, its DLQ, the bucket for large bodies. */
  queueUrl: string | undefined;
  deadLetterQueueUrl: string | undefined;
  bucket: string | undefined;
  kmsKeyId: string | undefined;
  sqs: SQSClient;
  s3: S3Client;
  /** The tenant a local stack's demo key belongs to (for `--via sqs`). */
  defaultTenant: string | undefined;
}

interface StackJson {
  apiUrl?: string;
  asyncQueueUrl?: string;
  asyncDeadLetterQueueUrl?: string;
  asyncBucket?: string;
  environment?: Record<string, string>;
}

/**
 * Environment variables win (a deployed stack: MODELGATE_API_URL, MODELGATE_API_KEY, and for the
 * queue ASYNC_QUEUE_URL, ASYNC_DLQ_URL, ASYNC_BUCKET and AUDIT_KMS_KEY_ID from the stack's
 * outputs, with the usual AWS credentials); otherwise the local stack's `stack.json` and demo key
 * in MODELGATE_HOME.
 */
export function resolveAsyncTarget(env: NodeJS.ProcessEnv, cwd: string): AsyncTarget {
  const home = resolve(cwd, env.MODELGATE_HOME ?? '.modelgate');
  const stackFile = join(home, 'stack.json');
  const stack: StackJson = existsSync(stackFile) ? (JSON.parse(readFileSync(stackFile, 'utf8')) as StackJson) : {};
  const local = stack.environment ?? {};
  const deployed = env.MODELGATE_API_URL !== undefined || env.ASYNC_QUEUE_URL !== undefined;
  if (!deployed && !existsSync(stackFile)) {
    throw new NoDeploymentError(
      `no deployment found: ${stackFile} does not exist. Start the local stack with "npm start", or set MODELGATE_API_URL and ` +
        'MODELGATE_API_KEY (and ASYNC_QUEUE_URL, ASYNC_DLQ_URL, ASYNC_BUCKET for the queue) from a deployed stack.',
    );
  }
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? local.AWS_REGION ?? 'us-east-1';
  const credentials = deployed
    ? env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) }
      : undefined
    : { accessKeyId: local.AWS_ACCESS_KEY_ID ?? 'local', secretAccessKey: local.AWS_SECRET_ACCESS_KEY ?? 'local' };
  const sqsEndpoint = deployed ? env.AWS_ENDPOINT_URL_SQS : local.AWS_ENDPOINT_URL_SQS;
  const s3Endpoint = deployed ? env.AWS_ENDPOINT_URL_S3 : local.AWS_ENDPOINT_URL_S3;
  const demoKeyFile = join(home, 'demo-api-key');
  const givenKey = env.MODELGATE_API_KEY?.trim();
  // Checked here, and never repeated: a malformed key would otherwise be echoed in an HTTP library's error.
  if (givenKey !== undefined && !isWellFormedApiKey(givenKey)) throw new NoDeploymentError('MODELGATE_API_KEY is not a modelgate API key (mgk_ and 43 characters)');
  return {
    description: deployed ? `${env.MODELGATE_API_URL ?? env.ASYNC_QUEUE_URL}` : `the local stack in ${home}`,
    apiUrl: (env.MODELGATE_API_URL ?? stack.apiUrl)?.replace(/\/+$/, ''),
    apiKey: givenKey ?? (!deployed && existsSync(demoKeyFile) ? readFileSync(demoKeyFile, 'utf8').trim() : undefined),
    queueUrl: deployed ? env.ASYNC_QUEUE_URL : stack.asyncQueueUrl,
    deadLetterQueueUrl: deployed ? env.ASYNC_DLQ_URL : stack.asyncDeadLetterQueueUrl,
    bucket: deployed ? env.ASYNC_BUCKET : stack.asyncBucket,
    kmsKeyId: deployed ? env.AUDIT_KMS_KEY_ID : local.AUDIT_KMS_KEY_ID,
    sqs: new SQSClient({ region, endpoint: sqsEndpoint, credentials, requestHandler: { connectionTimeout: 2_000 } }),
    s3: new S3Client({ region, endpoint: s3Endpoint, forcePathStyle: s3Endpoint !== undefined, credentials, requestHandler: { connectionTimeout: 2_000 } }),
    defaultTenant: deployed ? undefined : 'demo',
  };
}
