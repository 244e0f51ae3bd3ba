import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { v7 as uuidv7 } from 'uuid';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDynamoDbJobStore } from '../../lib/adapters/dynamodb-job-store';
import type { AsyncRequest } from '../../lib/core/async/async-request';
import type { JobStore } from '../../lib/ports/job-store';
import { createRequestsTable } from '../../local/stack';
import { stackClient } from './stack-client';

// The DynamoDB adapter's conditional writes, against dynalite: what keeps concurrent deliveries apart.
describe('the DynamoDB job store', () => {
  const client = stackClient();
  const now = new Date();
  let jobs: JobStore;

  beforeAll(async () => {
    const dynamo = new DynamoDBClient({ region: 'us-east-1', endpoint: client.stack.dynamoDbUrl, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    const table = `modelgate-local-store-${Date.now()}`;
    await createRequestsTable(dynamo, table);
    jobs = createDynamoDbJobStore(DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } }), table);
  });

  function queued(overrides: Partial<AsyncRequest> = {}): AsyncRequest {
    return {
      requestId: uuidv7(), tenant: 'acme', keyId: 'key_1', keyHash: 'f'.repeat(64), endpoint: 'iris', origin: 'http', status: 'queued',
      submittedAt: now.toISOString(), startedAt: null, finishedAt: null, updatedAt: now.toISOString(),
      body: { sha256: 'a'.repeat(64), bytes: 10, stored: false }, idempotencyKey: null, client: { ip: '127.0.0.1', userAgent: null },
      deliveries: 0, attempts: [], lastError: null, outcome: null, handoff: { audit: false, usage: false }, lease: null, version: 0,
      expiresAt: Math.floor(now.getTime() / 1000) + 3600,
      ...overrides,
    };
  }
  const expected = { tenant: 'acme', endpoint: 'iris', bodySha256: 'a'.repeat(64) };
  const lease = (messageId: string, receiveCount = 1, until = now.getTime() + 60_000) => ({ messageId, receiveCount, until });
  const outcome = { statusCode: 200, error: null, servedEntity: 'iris-v1', units: { kind: 'rows' as const, input: 1 }, backendLatencyMs: 12, resultBytes: 30, auditRequired: true };

  it('stores a request once and reads it back as it was', async () => {
    const request = queued();
    expect(await jobs.create(request)).toEqual({ created: true });
    expect(await jobs.create(request)).toEqual({ created: false, existing: request });
    expect(await jobs.get(request.requestId)).toEqual(request);
    expect(await jobs.get(uuidv7())).toBeUndefined();
  });

  it('lets one delivery claim a queued request; another message finds it busy, a forged one a mismatch', async () => {
    const request = queued();
    await jobs.create(request);
    const first = await jobs.claim(request.requestId, expected, lease('m1'), now);
    expect(first).toMatchObject({ outcome: 'claimed', request: { status: 'running', deliveries: 1, lease: lease('m1'), startedAt: now.toISOString() } });
    expect(await jobs.claim(request.requestId, expected, lease('m2'), now)).toMatchObject({ outcome: 'busy' });
    expect(await jobs.claim(request.requestId, { ...expected, tenant: 'globex' }, lease('m3'), now)).toMatchObject({ outcome: 'mismatch' });
    expect(await jobs.claim(uuidv7(), expected, lease('m4'), now)).toEqual({ outcome: 'missing' });
  });

  it('hands a lease over to a later delivery of the same message, or to anyone once it expired', async () => {
    const request = queued();
    await jobs.create(request);
    await jobs.claim(request.requestId, expected, lease('m1', 1), now);
    expect(await jobs.claim(request.requestId, expected, lease('m1', 2), now)).toMatchObject({ outcome: 'claimed', request: { deliveries: 2, lease: { receiveCount: 2 } } });
    const later = new Date(now.getTime() + 120_000);
    expect(await jobs.claim(request.requestId, expected, lease('m9', 1, later.getTime() + 60_000), later)).toMatchObject({ outcome: 'claimed', request: { lease: { messageId: 'm9' } } });
  });

  it('releases, finishes once, and settles only under the lease', async () => {
    const request = queued();
    await jobs.create(request);
    await jobs.claim(request.requestId, expected, lease('m1'), now);
    expect(await jobs.release(request.requestId, lease('other'), { attempts: [], lastError: { code: 'X', message: 'x' }, now })).toBe(false);
    expect(await jobs.release(request.requestId, lease('m1'), { attempts: [{ entity: 'iris-v1', outcome: 'BACKEND_THROTTLED', latencyMs: 3 }], lastError: { code: 'BACKEND_THROTTLED', message: 'slow' }, now })).toBe(true);
    expect(await jobs.get(request.requestId)).toMatchObject({ status: 'queued', lease: null, lastError: { code: 'BACKEND_THROTTLED' }, attempts: [{ outcome: 'BACKEND_THROTTLED' }] });
    await jobs.claim(request.requestId, expected, lease('m1', 2), now);
    const finish = { status: 'succeeded' as const, outcome, attempts: [], startedAt: now.toISOString(), now };
    expect(await jobs.finish(request.requestId, lease('m1', 2), finish)).toBe(true);
    expect(await jobs.finish(request.requestId, lease('m1', 2), { ...finish, status: 'failed' })).toBe(false);
    expect(await jobs.claim(request.requestId, expected, lease('m2'), now)).toMatchObject({ outcome: 'busy' });
    expect(await jobs.recordHandoff(request.requestId, lease('m1', 2), { audit: true, usage: true }, true, now)).toBe(true);
    const settled = await jobs.get(request.requestId);
    expect(settled).toMatchObject({ status: 'succeeded', outcome, lastError: null, lease: null, handoff: { audit: true, usage: true } });
    expect(await jobs.claim(request.requestId, expected, lease('m2'), now)).toMatchObject({ outcome: 'settled' });
  });

  /** Two stored requests: one still waiting for its first delivery, one a delivery took. */
  async function waitingAndTaken() {
    const waiting = queued();
    const taken = queued();
    await jobs.create(waiting);
    await jobs.create(taken);
    await jobs.claim(taken.requestId, expected, lease('m1'), now);
    return { waiting, taken };
  }

  it('gives the turn to re-send an undelivered request to one caller per version, never for one a delivery took', async () => {
    const { waiting, taken } = await waitingAndTaken();
    const later = new Date(now.getTime() + 61_000);
    const turns = await Promise.all([1, 2, 3].map(() => jobs.markRequeued(waiting.requestId, waiting.version, later)));
    expect(turns.filter(Boolean)).toHaveLength(1);
    expect(await jobs.get(waiting.requestId)).toMatchObject({ status: 'queued', version: waiting.version + 1, updatedAt: later.toISOString() });
    expect(await jobs.markRequeued(taken.requestId, (await jobs.get(taken.requestId))!.version, later)).toBe(false);
  });

  it('fails a submission that was never queued, but never one a delivery took', async () => {
    const { waiting: untaken, taken } = await waitingAndTaken();
    expect(await jobs.failSubmission(untaken.requestId, { code: 'QUEUE_UNAVAILABLE', message: 'not queued' }, now)).toBe(true);
    // A worker took it: the message was queued after all.
    expect(await jobs.failSubmission(taken.requestId, { code: 'QUEUE_UNAVAILABLE', message: 'not queued' }, now)).toBe(false);
    expect(await jobs.get(untaken.requestId)).toMatchObject({ status: 'failed', handoff: { audit: true, usage: true }, outcome: { statusCode: 503 } });
    expect(await jobs.get(taken.requestId)).toMatchObject({ status: 'running' });
  });

  it('reserves an idempotency key once per tenant until it expires; takes over and releases only for its request', async () => {
    const key = `k-${uuidv7()}`;
    const entry = { tenant: 'acme', key, requestId: 'r1', endpoint: 'iris', bodySha256: 'a'.repeat(64), createdAt: now.toISOString(), expiresAt: Math.floor(now.getTime() / 1000) + 60 };
    expect(await jobs.reserveKey(entry, now)).toEqual({ reserved: true });
    expect(await jobs.reserveKey({ ...entry, requestId: 'r2' }, now)).toEqual({ reserved: false, existing: entry });
    expect(await jobs.reserveKey({ ...entry, tenant: 'globex', requestId: 'r3' }, now)).toEqual({ reserved: true });
    expect(await jobs.takeOverKey({ ...entry, requestId: 'r4' }, 'not-r1')).toBe(false);
    expect(await jobs.takeOverKey({ ...entry, requestId: 'r4' }, 'r1')).toBe(true);
    await jobs.releaseKey('acme', key, 'r1');
    expect(await jobs.reserveKey({ ...entry, requestId: 'r5' }, now)).toMatchObject({ reserved: false, existing: { requestId: 'r4' } });
    await jobs.releaseKey('acme', key, 'r4');
    expect(await jobs.reserveKey({ ...entry, requestId: 'r6' }, now)).toEqual({ reserved: true });
    const later = new Date(now.getTime() + 120_000);
    expect(await jobs.reserveKey({ ...entry, requestId: 'r7', expiresAt: Math.floor(later.getTime() / 1000) + 60 }, later)).toEqual({ reserved: true });
  });
});
