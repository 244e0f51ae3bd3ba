import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConditionalCheckFailedException, CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { createDynamoDbKeyStore } from '../lib/adapters/dynamodb-key-store';
import { apiKeyRecordFor, isWellFormedApiKey, newApiKey, type ApiKeyRecord } from '../lib/core/api-key';
import type { KeyAdminStore } from '../lib/ports/key-store';
import { createGovernanceTables, type GovernanceTable } from './governance-tables';
import { readOrCreateAuditSigningKey } from './audit-signing-key';
import { startChild, type StackChild } from './child-process';
import { PortInUseError } from './listen';
import { localizeEndpointsConfig } from './localize-endpoints-config';
import { startSecretsServer } from './secrets-server/server';
import { startEmulator, type LocalEmulator } from './emulator';
import { startDynamoDb } from './dynamodb';

/**
 * Every server of the stack on a port the system picks: for tests and benchmarks, which must not
 * collide with a running `npm start` or with each other.
 */
export const ON_FREE_PORTS = {
  apiPort: 0,
  emulatorPort: 0,
  dynamoDbPort: 0,
  modelServerPort: 0,
  openaiServerPort: 0,
  anthropicServerPort: 0,
  secretsPort: 0,
} as const satisfies Partial<LocalStackOptions>;

export interface LocalStackOptions {
  /** Project root (serverless.yml, functions/, config/). */
  root?: string;
  /** The one folder holding the stack's state: demo key, logs, stack description. */
  dataDir?: string;
  host?: string;
  apiPort?: number;
  emulatorPort?: number;
  /** The DynamoDB emulator (dynalite): keys, limits, usage, abuse findings and async jobs. */
  dynamoDbPort?: number;
  modelServerPort?: number;
  /** The local OpenAI-compatible and Anthropic-compatible providers, and the SSM/Secrets Manager stand-in. */
  openaiServerPort?: number;
  anthropicServerPort?: number;
  secretsPort?: number;
  /** Endpoint configuration the API serves (default: config/endpoints.json). */
  endpointsConfig?: string;
  /** Extra SageMaker endpoints the model server hosts (name → model). */
  modelServerEndpoints?: Record<string, string>;
  /**
   * Extra environment for the functions the stack runs: the API process, the workers, and
   * `stack.environment` (e.g. a shorter key cache TTL in tests).
   */
  apiEnvironment?: Record<string, string>;
  /** How often scheduled functions (the audit digest) run locally; default 60 s. */
  scheduleIntervalSeconds?: number;
  /** Caps the batching windows of queue consumers locally (default 1 s), so records show up fast. */
  batchingWindowSeconds?: number;
  /** Async worker invocations in flight at once locally (Lambda's MaximumConcurrency); default 2. */
  asyncWorkerConcurrency?: number;
  /**
   * The audit queue's visibility timeout (default 420 s, as deployed): how long a message received
   * by a consumer that never answered (a long poll cut off by an outage) stays out of sight.
   */
  auditVisibilityTimeoutSeconds?: number;
}

export interface LocalStack {
  apiUrl: string;
  emulatorUrl: string;
  modelServerUrl: string;
  openaiServerUrl: string;
  anthropicServerUrl: string;
  secretsUrl: string;
  demoApiKey: string;
  /** A key with the auditor role (tenant "security"), for the audit API. */
  demoAuditorKey: string;
  auditBucket: string;
  /** The DynamoDB emulator, and the governance tables in it (keys, limits, usage, abuse); the async job table is asyncRequestsTable. */
  dynamoDbUrl: string;
  tables: Record<GovernanceTable, string>;
  usageQueueUrl: string;
  usageDeadLetterQueueUrl: string;
  /** Audit records are handed off here; the archiver drains it into the audit bucket. */
  auditQueueUrl: string;
  /** Where the CLI records its reads of the audit log. */
  auditReadsQueueUrl: string;
  auditDeadLetterQueueUrl: string;
  /** Async submissions: the request queue (and its DLQ), the job table, the bucket of large bodies and results. */
  asyncQueueUrl: string;
  asyncDeadLetterQueueUrl: string;
  asyncRequestsTable: string;
  asyncBucket: string;
  /** The public half of the local digest signing key (PEM), for `modelgate audit verify`. */
  auditSigningPublicKeyFile: string;
  auditSigningKeyId: string;
  dataDir: string;
  /** Process ids of the children, for benchmarks that read their CPU time. */
  pids: { api: number; modelServer: number; openaiServer: number; anthropicServer: number; workers: number };
  /** Pause and resume the S3 + SQS emulator, to see the gateway fail closed and recover. */
  emulator: Pick<LocalEmulator, 'pause' | 'resume'>;
  /** The environment the API's handlers run with; clients in tests use the same. */
  environment: Record<string, string>;
  stop(): Promise<void>;
}

const REGION = 'us-east-1';
const AUDIT_BUCKET = 'modelgate-local-audit';
const USAGE_QUEUE = 'modelgate-local-usage';
const USAGE_DEAD_LETTER_QUEUE = 'modelgate-local-usage-dlq';
/** Where the stage-scoped IAM policies of a deployment would let the functions read provider keys. */
export const OPENAI_KEY_PARAMETER = '/modelgate/local/openai-api-key';
const ANTHROPIC_KEY_SECRET = 'modelgate/local/anthropic-api-key';
const AUDIT_QUEUE = 'modelgate-local-audit';
const AUDIT_READS_QUEUE = 'modelgate-local-audit-reads';
const AUDIT_READS_DEAD_LETTER_QUEUE = 'modelgate-local-audit-reads-dlq';
const AUDIT_DEAD_LETTER_QUEUE = 'modelgate-local-audit-dlq';
const ASYNC_QUEUE = 'modelgate-local-async-requests';
const ASYNC_DEAD_LETTER_QUEUE = 'modelgate-local-async-requests-dlq';
const ASYNC_REQUESTS_TABLE = 'modelgate-local-async-requests';
const ASYNC_BUCKET = 'modelgate-local-async';
/** As serverless.yml's RedrivePolicy of the async request queue. */
const ASYNC_MAX_RECEIVE_COUNT = 5;
// The emulator accepts any credentials; these only satisfy the SDK's signer.
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

/**
 * Brings up the whole pipeline on one machine: the S3 + SQS emulator (fauxqs) with the buckets
 * and queues created, the SageMaker-protocol model server, and the API running the real
 * handlers, with a demo key seeded. Every process binds to 127.0.0.1.
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const root = resolve(options.root ?? process.cwd());
  const dataDir = resolve(root, options.dataDir ?? '.modelgate');
  const host = options.host ?? '127.0.0.1';
  mkdirSync(join(dataDir, 'logs'), { recursive: true });

  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const stopOne of stops.reverse()) await stopOne().catch(() => undefined);
  };

  try {
    const emulatorPort = options.emulatorPort ?? 4566;
    const emulator = await startEmulator({ host, port: emulatorPort });
    stops.push(() => emulator.stop());
    const emulatorUrl = emulator.url;

    // Resources are created through the AWS APIs, as a deployment would, not through emulator internals.
    const s3 = new S3Client({ region: REGION, endpoint: emulatorUrl, forcePathStyle: true, credentials: LOCAL_CREDENTIALS });
    const sqs = new SQSClient({ region: REGION, endpoint: emulatorUrl, credentials: LOCAL_CREDENTIALS });
    await s3.send(new CreateBucketCommand({ Bucket: AUDIT_BUCKET }));
    // As serverless.yml declares it: a DLQ after 5 receives, visibility 6x the usage aggregator's timeout.
    const usageDeadLetter = await createQueue(sqs, USAGE_DEAD_LETTER_QUEUE, { MessageRetentionPeriod: '1209600' });
    const usageQueue = await createQueue(sqs, USAGE_QUEUE, {
      MessageRetentionPeriod: '1209600',
      VisibilityTimeout: '400',
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: usageDeadLetter.arn, maxReceiveCount: 5 }),
    });
    const usageQueueUrl = usageQueue.url;

    const dynamoDb = await startDynamoDb({ host, port: options.dynamoDbPort ?? 4567 });
    stops.push(() => dynamoDb.stop());
    const dynamoDbClient = new DynamoDBClient({ region: REGION, endpoint: dynamoDb.url, credentials: LOCAL_CREDENTIALS });
    stops.push(async () => dynamoDbClient.destroy());
    const tables = await createGovernanceTables(dynamoDbClient, join(root, 'serverless.yml'));
    await s3.send(new CreateBucketCommand({ Bucket: ASYNC_BUCKET }));
    await createRequestsTable(dynamoDbClient, ASYNC_REQUESTS_TABLE);
    // As serverless.yml declares them: a DLQ after 5 receives, visibility 6x the archiver's timeout.
    const auditDeadLetter = await createQueue(sqs, AUDIT_DEAD_LETTER_QUEUE, { MessageRetentionPeriod: '1209600' });
    const auditQueue = await createQueue(sqs, AUDIT_QUEUE, {
      MessageRetentionPeriod: '1209600',
      VisibilityTimeout: String(options.auditVisibilityTimeoutSeconds ?? 420),
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: auditDeadLetter.arn, maxReceiveCount: 5 }),
    });
    // Where the CLI records its reads (audit-read records only, as in AWS), with a DLQ of its own.
    const auditReadsDeadLetter = await createQueue(sqs, AUDIT_READS_DEAD_LETTER_QUEUE, { MessageRetentionPeriod: '1209600' });
    const auditReadsQueue = await createQueue(sqs, AUDIT_READS_QUEUE, {
      MessageRetentionPeriod: '1209600',
      VisibilityTimeout: '420',
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: auditReadsDeadLetter.arn, maxReceiveCount: 5 }),
    });
    // As serverless.yml declares them: a DLQ after 5 receives kept longer, visibility 6x the worker's timeout.
    const asyncDeadLetter = await createQueue(sqs, ASYNC_DEAD_LETTER_QUEUE, { MessageRetentionPeriod: '1209600' });
    const asyncQueue = await createQueue(sqs, ASYNC_QUEUE, {
      MessageRetentionPeriod: '345600',
      VisibilityTimeout: '370',
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: asyncDeadLetter.arn, maxReceiveCount: ASYNC_MAX_RECEIVE_COUNT }),
    });
    const signingKey = readOrCreateAuditSigningKey(dataDir);

    const demoApiKey = readOrCreateDemoKey(dataDir);
    const keyStore = createDynamoDbKeyStore(DynamoDBDocumentClient.from(dynamoDbClient), { tableName: tables.KeysTable, cacheTtlMs: 0 });
    await seedKey(keyStore, apiKeyRecordFor(demoApiKey, { tenant: 'demo', roles: ['invoke'], endpoints: ['*'], now: new Date(), name: 'demo key' }));
    const demoAuditorKey = readOrCreateDemoKey(dataDir, 'demo-auditor-key');
    await seedKey(keyStore, apiKeyRecordFor(demoAuditorKey, { tenant: 'security', roles: ['auditor'], endpoints: [], now: new Date(), name: 'demo auditor key' }));

    const childEnvironment = {
      ...process.env,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };

    // The external providers' keys exist only in the secrets stand-in, as they would in SSM and
    // Secrets Manager; the endpoint config points at them, never holds them.
    const secrets = await startSecretsServer({ host, port: options.secretsPort ?? 8084 });
    stops.push(secrets.close);
    const providerKeys = { openai: `sk-local-${randomBytes(18).toString('hex')}`, anthropic: `sk-ant-local-${randomBytes(18).toString('hex')}` };
    secrets.vault.putParameter(OPENAI_KEY_PARAMETER, providerKeys.openai, { type: 'SecureString' });
    secrets.vault.createSecret(ANTHROPIC_KEY_SECRET, { secretString: providerKeys.anthropic });

    const logFile = (name: string) => join(dataDir, `logs/${name}.log`);
    const [modelServer, openaiServer, anthropicServer] = await Promise.all([
      startChild({
        name: 'model server',
        entry: join(root, 'local/processes/model-server.ts'),
        cwd: root,
        logFile: logFile('model-server'),
        env: {
          ...childEnvironment,
          MODELGATE_MODEL_SERVER_PORT: String(options.modelServerPort ?? 8081),
          ...(options.modelServerEndpoints ? { MODEL_SERVER_ENDPOINTS: JSON.stringify(options.modelServerEndpoints) } : {}),
        },
      }),
      startChild({
        name: 'OpenAI-compatible server',
        entry: join(root, 'local/processes/openai-server.ts'),
        cwd: root,
        logFile: logFile('openai-server'),
        env: {
          ...childEnvironment,
          MODELGATE_OPENAI_SERVER_PORT: String(options.openaiServerPort ?? 8082),
          MODELGATE_OPENAI_SERVER_API_KEY: providerKeys.openai,
        },
      }),
      startChild({
        name: 'Anthropic-compatible server',
        entry: join(root, 'local/processes/anthropic-server.ts'),
        cwd: root,
        logFile: logFile('anthropic-server'),
        env: {
          ...childEnvironment,
          MODELGATE_ANTHROPIC_SERVER_PORT: String(options.anthropicServerPort ?? 8083),
          MODELGATE_ANTHROPIC_SERVER_API_KEY: providerKeys.anthropic,
        },
      }),
    ]);
    stops.push(modelServer.stop, openaiServer.stop, anthropicServer.stop);
    const endpointsConfig = localizeEndpointsConfig(resolve(root, options.endpointsConfig ?? 'config/endpoints.json'), join(dataDir, 'endpoints.json'), {
      'http://127.0.0.1:8082': openaiServer.url,
      'http://127.0.0.1:8083': anthropicServer.url,
    });

    const environment: Record<string, string> = {
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_S3: emulatorUrl,
      AWS_ENDPOINT_URL_SQS: emulatorUrl,
      AWS_ENDPOINT_URL_DYNAMODB: dynamoDb.url,
      AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: modelServer.url,
      AWS_ENDPOINT_URL_SSM: secrets.url,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url,
      S3_FORCE_PATH_STYLE: 'true',
      AUDIT_BUCKET,
      AUDIT_KMS_KEY_ID: 'alias/modelgate-local',
      KEYS_TABLE: tables.KeysTable,
      LIMITS_TABLE: tables.LimitsTable,
      USAGE_TABLE: tables.UsageTable,
      ABUSE_TABLE: tables.AbuseTable,
      USAGE_QUEUE_URL: usageQueueUrl,
      AUDIT_QUEUE_URL: auditQueue.url,
      AUDIT_READS_QUEUE_URL: auditReadsQueue.url,
      AUDIT_READS_QUEUE_ARN: auditReadsQueue.arn,
      ASYNC_QUEUE_URL: asyncQueue.url,
      ASYNC_REQUESTS_TABLE,
      ASYNC_BUCKET,
      ASYNC_MAX_RECEIVE_COUNT: String(ASYNC_MAX_RECEIVE_COUNT),
      AUDIT_SIGNING_KEY_FILE: signingKey.privateKeyFile,
      ENDPOINTS_CONFIG: endpointsConfig,
      POWERTOOLS_SERVICE_NAME: 'modelgate',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      POWERTOOLS_METRICS_NAMESPACE: 'modelgate',
      // No X-Ray daemon here: the tracer stays a no-op and the AWS clients stay unwrapped.
      POWERTOOLS_TRACE_ENABLED: 'false',
      ...options.apiEnvironment,
    };
    const api: StackChild = await startChild({
      name: 'API',
      entry: join(root, 'local/processes/api.ts'),
      cwd: root,
      logFile: join(dataDir, 'logs/api.log'),
      env: { ...childEnvironment, ...environment, MODELGATE_API_PORT: String(options.apiPort ?? 3000) },
    });
    stops.push(api.stop);

    // The queue consumers (audit archiver, usage aggregator) and the digest, driven as Lambda would
    // (SQS event sources, schedule).
    const workers = await startChild({
      name: 'workers',
      entry: join(root, 'local/processes/workers.ts'),
      cwd: root,
      logFile: join(dataDir, 'logs/workers.log'),
      env: {
        ...childEnvironment,
        ...environment,
        MODELGATE_LOCAL_QUEUES: JSON.stringify({
          AuditQueue: auditQueue,
          AuditReadsQueue: auditReadsQueue,
          UsageQueue: usageQueue,
          // The worker's conditional writes keep concurrent deliveries apart, so it may run side by side.
          AsyncRequestQueue: { ...asyncQueue, concurrency: options.asyncWorkerConcurrency ?? 2 },
        }),
        MODELGATE_LOCAL_SCHEDULE_SECONDS: String(options.scheduleIntervalSeconds ?? 60),
        MODELGATE_LOCAL_BATCH_WINDOW_SECONDS: String(options.batchingWindowSeconds ?? 1),
      },
    });
    stops.push(workers.stop);

    const stack: LocalStack = {
      apiUrl: api.url,
      emulatorUrl,
      modelServerUrl: modelServer.url,
      openaiServerUrl: openaiServer.url,
      anthropicServerUrl: anthropicServer.url,
      secretsUrl: secrets.url,
      demoApiKey,
      demoAuditorKey,
      auditBucket: AUDIT_BUCKET,
      dynamoDbUrl: dynamoDb.url,
      tables,
      usageQueueUrl,
      usageDeadLetterQueueUrl: usageDeadLetter.url,
      auditQueueUrl: auditQueue.url,
      auditReadsQueueUrl: auditReadsQueue.url,
      auditDeadLetterQueueUrl: auditDeadLetter.url,
      asyncQueueUrl: asyncQueue.url,
      asyncDeadLetterQueueUrl: asyncDeadLetter.url,
      asyncRequestsTable: ASYNC_REQUESTS_TABLE,
      asyncBucket: ASYNC_BUCKET,
      auditSigningPublicKeyFile: signingKey.publicKeyFile,
      auditSigningKeyId: signingKey.keyId,
      dataDir,
      pids: {
        api: api.process.pid ?? -1,
        modelServer: modelServer.process.pid ?? -1,
        openaiServer: openaiServer.process.pid ?? -1,
        anthropicServer: anthropicServer.process.pid ?? -1,
        workers: workers.process.pid ?? -1,
      },
      emulator: { pause: () => emulator.pause(), resume: () => emulator.resume() },
      environment,
      stop,
    };
    writeFileSync(
      join(dataDir, 'stack.json'),
      JSON.stringify({ ...stack, demoApiKey: undefined, demoAuditorKey: undefined, stop: undefined, emulator: undefined, startedAt: new Date().toISOString() }, null, 2),
    );
    return stack;
  } catch (error) {
    await stop();
    throw error;
  }
}

async function createQueue(sqs: SQSClient, name: string, attributes: Record<string, string>): Promise<{ url: string; arn: string }> {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  if (!QueueUrl) throw new Error(`the emulator returned no URL for queue ${name}`);
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
  return { url: QueueUrl, arn: Attributes?.QueueArn ?? `arn:aws:sqs:${REGION}:000000000000:${name}` };
}

/** Stores a demo key's record; a data folder reused across restarts holds the same key, which the fresh emulator lacks. */
async function seedKey(store: KeyAdminStore, record: ApiKeyRecord): Promise<void> {
  try {
    await store.create(record);
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}

/**
 * The async job table, as serverless.yml declares it (partition key `pk`). Its TTL on `expiresAt`
 * is not set here: dynalite has no TTL, and the local stack's state lasts only while it runs.
 */
export async function createRequestsTable(dynamo: DynamoDBClient, tableName: string): Promise<void> {
  await dynamo.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    }),
  );
}

/** The demo key survives restarts so a saved curl keeps working; only its hash goes to the store. */
function readOrCreateDemoKey(dataDir: string, name = 'demo-api-key'): string {
  const path = join(dataDir, name);
  if (existsSync(path)) {
    const saved = readFileSync(path, 'utf8').trim();
    if (isWellFormedApiKey(saved)) return saved;
  }
  const apiKey = newApiKey();
  writeFileSync(path, `${apiKey}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return apiKey;
}
