import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
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
      s3: createS3Client(env, 'background'),
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

  it('give S3 calls behind API Gateway two attempts (of 8 s, below), which end inside a 28 s function, and background ones three', async () => {
    expect(await createS3Client(env, 'behind-api-gateway').config.maxAttempts()).toBe(2);
    expect(await createS3Client(env, 'background').config.maxAttempts()).toBe(3);
  });
});

/** What a client sent, as a request handler standing in for the network sees it. */
interface SentRequest {
  path: string;
  target: string | undefined;
  body: string;
}

/**
 * Replaces the client's request handler (before its first call, when the chain is resolved) with
 * one that records each request and answers `answer(request)`; every answer waits a tick, so calls
 * made together are in flight together.
 */
function recordRequests(client: { config: object }, answer: (request: SentRequest) => { headers?: Record<string, string>; body?: string }): SentRequest[] {
  const sent: SentRequest[] = [];
  (client.config as { requestHandler: unknown }).requestHandler = {
    handle: async (request: { path: string; headers: Record<string, string>; body?: unknown }) => {
      const body = typeof request.body === 'string' ? request.body : Buffer.from((request.body as Uint8Array | undefined) ?? []).toString();
      const seen = { path: request.path, target: request.headers['x-amz-target'], body };
      sent.push(seen);
      await new Promise((resolve) => setImmediate(resolve));
      const { headers = {}, body: answerBody = '' } = answer(seen);
      return { response: { statusCode: 200, reason: 'OK', headers, body: Buffer.from(answerBody) } };
    },
  };
  return sent;
}

describe('the AWS clients under concurrent calls of one command', () => {
  const credentials = { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' };
  beforeEach(() => {
    for (const [name, value] of Object.entries(credentials)) vi.stubEnv(name, value);
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('S3 sends each PutObject to its own bucket (a cached middleware chain sent both to one)', async () => {
    // Prepare: one client for two buckets, as the async wiring shares one for the async bucket and audit bodies.
    const s3 = createS3Client({ AWS_REGION: 'eu-west-1', AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:1', S3_FORCE_PATH_STYLE: true }, 'background');
    const sent = recordRequests(s3, () => ({ headers: { etag: '"0"' } }));
    const puts = ['audit-bucket', 'async-bucket', 'audit-bucket', 'async-bucket'].map((bucket, index) => ({ bucket, key: `k${index}`, body: `${bucket}/${index}` }));
    // Act
    await Promise.all(puts.map((put) => s3.send(new PutObjectCommand({ Bucket: put.bucket, Key: put.key, Body: put.body }))));
    // Assess
    expect(sent.map((request) => `${request.path} ${request.body}`).sort()).toEqual(puts.map((put) => `/${put.bucket}/${put.key} ${put.body}`).sort());
  });

  it('SQS sends each message to its own queue with its own body, its middleware chain resolved once', async () => {
    // Prepare
    const sqs = createSqsClient({ AWS_REGION: 'eu-west-1', AWS_ENDPOINT_URL_SQS: 'http://127.0.0.1:1' });
    const sent = recordRequests(sqs, (request) => {
      const { MessageBody } = JSON.parse(request.body) as { MessageBody: string };
      return { body: JSON.stringify({ MessageId: 'm', MD5OfMessageBody: createHash('md5').update(MessageBody).digest('hex') }) };
    });
    const messages = ['audit', 'usage', 'audit', 'usage'].map((queue, index) => ({ queueUrl: `http://127.0.0.1:1/000000000000/${queue}`, body: `${queue} ${index}` }));
    // Act
    await Promise.all(messages.map((message) => sqs.send(new SendMessageCommand({ QueueUrl: message.queueUrl, MessageBody: message.body }))));
    // Assess
    const received = sent.map((request) => JSON.parse(request.body) as { QueueUrl: string; MessageBody: string });
    expect(received.map((message) => `${message.QueueUrl} ${message.MessageBody}`).sort()).toEqual(messages.map((message) => `${message.queueUrl} ${message.body}`).sort());
    expect(sent.every((request) => request.target === 'AmazonSQS.SendMessage')).toBe(true);
    expect((sqs as unknown as { handlers?: WeakMap<object, unknown> }).handlers?.has(SendMessageCommand)).toBe(true);
  });
});

/** How a call to an endpoint that never answers played out, in milliseconds of the fake clock from its first request. */
interface SilentEndpointCall {
  /** When each request reached the endpoint: one per attempt. */
  requestsAt: number[];
  /** When the call failed or was answered; undefined if it had done neither by the time the clock was stopped. */
  settledAt: number | undefined;
  /** What the call failed with; undefined if it was answered or is still waiting. */
  error: unknown;
}

/**
 * Makes `call` against a local HTTP server that takes every request and never answers, and from the
 * first request on moves the fake clock on in small steps (letting real I/O run between them) until
 * the call settles or `giveUpAt` has passed. The client's own timeouts and retry backoff run on the
 * fake clock, so a 30 s timeout takes milliseconds. Each event is dated by the end of the step it
 * happened in, never earlier than it happened.
 */
async function callSilentEndpoint(call: (endpoint: string) => Promise<unknown>, giveUpAt: number): Promise<SilentEndpointCall> {
  const stepMs = 50;
  const requestsAt: number[] = [];
  let stepEnd = 0;
  let firstRequestArrived!: () => void;
  const firstRequest = new Promise<void>((resolve) => (firstRequestArrived = resolve));
  const server = createServer(() => {
    requestsAt.push(stepEnd);
    firstRequestArrived();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    let settledAt: number | undefined;
    let error: unknown;
    const settled = call(`http://127.0.0.1:${(server.address() as AddressInfo).port}`).then(
      () => (settledAt = stepEnd),
      (reason: unknown) => ((settledAt = stepEnd), (error = reason)),
    );
    // What comes before the first request (credentials, configuration, the SDK loading modules) takes
    // real time: the clock stands still until then, or it would count against no attempt.
    await Promise.race([firstRequest, settled]);
    while (settledAt === undefined && stepEnd < giveUpAt) {
      stepEnd += stepMs;
      await new Promise((resolve) => setImmediate(resolve));
      await vi.advanceTimersByTimeAsync(stepMs);
    }
    return { requestsAt, settledAt, error };
  } finally {
    vi.useRealTimers();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('a call to an endpoint that takes the request and never answers', () => {
  beforeEach(() => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
    // The attempts are the client's own (or the SDK's default), not the machine's environment or shared config file.
    vi.stubEnv('AWS_MAX_ATTEMPTS', undefined);
    vi.stubEnv('AWS_RETRY_MODE', undefined);
    vi.stubEnv('AWS_PROFILE', undefined);
    vi.stubEnv('AWS_CONFIG_FILE', '/nonexistent/modelgate-unit-test/aws-config');
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it.each([
    ['SQS', 3, 5_000, (endpoint: string) => createSqsClient({ AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL_SQS: endpoint }).send(new SendMessageCommand({ QueueUrl: `${endpoint}/000000000000/audit`, MessageBody: '{}' }))],
    ['S3 (background)', 3, 30_000, (endpoint: string) => createS3Client({ AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL_S3: endpoint, S3_FORCE_PATH_STYLE: true }, 'background').send(new PutObjectCommand({ Bucket: 'audit', Key: 'k', Body: '{}' }))],
    // Two attempts of 8 s, with their backoff, end inside a function of 28 s; three would not leave room for the rest of the request.
    ['S3 (behind API Gateway)', 2, 8_000, (endpoint: string) => createS3Client({ AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL_S3: endpoint, S3_FORCE_PATH_STYLE: true }, 'behind-api-gateway').send(new PutObjectCommand({ Bucket: 'audit', Key: 'k', Body: '{}' }))],
  ])('%s makes %i attempts, each ended by a TimeoutError at its %i ms call timeout, not after the SDK default of 15 minutes', async (_, attempts, timeoutMs, call) => {
    // Prepare: each retry's backoff is well under 1 s; watching for one attempt more than expected would see a further request.
    const backoffAllowanceMs = 1_000;
    // Act
    const { requestsAt, settledAt, error } = await callSilentEndpoint(call, (attempts + 1) * (timeoutMs + backoffAllowanceMs));
    // Assess
    expect(requestsAt).toHaveLength(attempts);
    requestsAt.forEach((at, attempt) => expect(at, `request ${attempt + 1} came before ${attempt} call timeout(s) had passed`).toBeGreaterThanOrEqual(attempt * timeoutMs));
    expect(error).toMatchObject({ name: 'TimeoutError', message: expect.stringContaining(`configured ${timeoutMs} ms requestTimeout`) });
    expect(settledAt).toBeGreaterThanOrEqual(attempts * timeoutMs);
    expect(settledAt).toBeLessThan(attempts * timeoutMs + (attempts - 1) * backoffAllowanceMs);
  });
});
