import { GetObjectCommand } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { v7 as uuidv7 } from 'uuid';
import { inProducerSpace } from '../../lib/core/request-id-space';
import { afterEach, describe, expect, it } from 'vitest';
import { ASYNC_REQUEST_MESSAGE_SCHEMA } from '../../lib/core/async/async-request-message';
import { stackClient } from './stack-client';

const client = stackClient();
const SENTIMENT = { instances: ['what a lovely day', 'this is broken and useless'] };

// The whole async path on the local stack: the real submission and status handlers behind the
// local API, the real worker driven by the local SQS poller (long polling, visibility timeouts,
// partial batch failures, the DLQ redrive), DynamoDB (dynalite), S3 and SQS (fauxqs).
describe('async invocations through the local stack', () => {
  afterEach(async () => {
    await client.setFault('faulty-v1', undefined);
  });

  it('accepts a submission over HTTP with 202, runs it, and shows the result to its tenant', async () => {
    // Act
    const submitted = await client.submitAsync('sentiment', SENTIMENT);
    // Assess: accepted at once, with where to look.
    expect(submitted.status).toBe(202);
    const id = submitted.json.request_id as string;
    expect(submitted.json).toEqual({ request_id: id, status: 'queued', status_url: `${client.stack.apiUrl}/requests/${id}` });
    expect(submitted.headers.get('location')).toBe(submitted.json.status_url);
    expect(submitted.headers.get('x-request-id')).toBe(id);

    const done = await client.waitForRequest(id);
    expect(done.status).toBe(200);
    expect(done.json).toMatchObject({
      request_id: id,
      status: 'succeeded',
      endpoint: 'sentiment',
      status_code: 200,
      served_entity: 'sentiment-v1',
      deliveries: 1,
      usage: { kind: 'rows', input: 2 },
      result: { predictions: [{ label: 'positive' }, { label: 'negative' }] },
    });
    const { submitted_at, started_at, finished_at } = done.json as Record<string, string>;
    expect(Date.parse(submitted_at!)).toBeLessThanOrEqual(Date.parse(started_at!));
    expect(Date.parse(started_at!)).toBeLessThanOrEqual(Date.parse(finished_at!));
  });

  it('writes exactly one audit record (kind async-invocation) and one usage event for the request', async () => {
    // Prepare
    const id = (await client.submitAsync('sentiment', SENTIMENT, { headers: { 'user-agent': 'batch-runner/1.0' } })).json.request_id as string;
    await client.waitForRequest(id);
    // Act
    const audited = await client.auditObject(id);
    const usage = await client.usageEvents(id);
    // Assess
    expect(audited?.record).toMatchObject({
      kind: 'async-invocation',
      requestId: id,
      tenant: 'demo',
      endpoint: 'sentiment',
      servedEntity: 'sentiment-v1',
      status: 200,
      client: { userAgent: 'batch-runner/1.0' },
      request: { body: SENTIMENT },
      response: { body: { predictions: expect.any(Array) } },
      async: { origin: 'http', deliveries: 1, idempotencyKey: null },
    });
    expect(usage).toHaveLength(1);
    expect(usage[0]).toMatchObject({ requestId: id, status: 200, async: true, units: { kind: 'rows', input: 2 } });
  });

  it('runs a message a producer sent straight onto the queue, for a tenant granted the endpoint', async () => {
    // Prepare
    const id = inProducerSpace(uuidv7());
    // Act
    await client.sendToRequestQueue({ schema: ASYNC_REQUEST_MESSAGE_SCHEMA, requestId: id, tenant: 'demo', endpoint: 'iris', body: { instances: [[5.1, 3.5, 1.4, 0.2]] } });
    // Assess: the tenant's own key reads it like any other request.
    const done = await client.waitForRequest(id);
    expect(done.json).toMatchObject({ request_id: id, status: 'succeeded', result: { predictions: [{ class: 'setosa' }] } });
    expect((await client.auditObject(id))?.record).toMatchObject({ kind: 'async-invocation', keyId: null, tenant: 'demo', async: { origin: 'sqs' } });
  });

  it('records a producer\'s message for a tenant not granted the endpoint as a failed request, not a silent drop', async () => {
    // Prepare: pipeline-co may send to sentiment through the queue, not to iris.
    const { apiKey } = await client.createKey({ tenant: 'pipeline-co', endpoints: ['*'] });
    const id = inProducerSpace(uuidv7());
    // Act
    await client.sendToRequestQueue({ schema: ASYNC_REQUEST_MESSAGE_SCHEMA, requestId: id, tenant: 'pipeline-co', endpoint: 'iris', body: { instances: [[5.1, 3.5, 1.4, 0.2]] } });
    // Assess
    const done = await client.waitForRequest(id, { key: apiKey });
    expect(done.json).toMatchObject({
      status: 'failed',
      status_code: 403,
      error: { code: 'PERMISSION_DENIED', message: 'Tenant pipeline-co may not send requests for endpoint iris through the queue' },
    });
    expect((await client.auditObject(id))?.record).toMatchObject({ kind: 'async-invocation', status: 403, errorCode: 'PERMISSION_DENIED', tenant: 'pipeline-co' });
    expect(await client.usageEvents(id)).toHaveLength(1);
  });

  it('stores a body too large for a message in the async bucket (claim check) and still runs it', async () => {
    // Prepare: ~300 kB of rows, over the 200 kB a message carries inline.
    const instances = Array.from({ length: 6_000 }, (_, i) => `row ${i}: the service was lovely and fast, thanks`);
    // Act
    const id = (await client.submitAsync('sentiment', { instances })).json.request_id as string;
    const done = await client.waitForRequest(id, { waitMs: 30_000 });
    // Assess
    expect(done.json).toMatchObject({ status: 'succeeded', usage: { kind: 'rows', input: 6_000 } });
    expect((done.json.result as { predictions: unknown[] }).predictions).toHaveLength(6_000);
    const stored = await client.s3.send(new GetObjectCommand({ Bucket: client.stack.asyncBucket, Key: `requests/v1/${id}.json` }));
    expect(JSON.parse(await stored.Body!.transformToString())).toEqual({ instances });
  });

  it('answers another tenant\'s request id exactly like an unknown one: 404', async () => {
    // Prepare
    const id = (await client.submitAsync('sentiment', SENTIMENT)).json.request_id as string;
    await client.waitForRequest(id);
    const { apiKey: otherTenant } = await client.createKey({ tenant: 'globex', endpoints: ['*'] });
    // Act
    const someoneElses = await client.requestStatus(id, { key: otherTenant });
    const unknown = await client.requestStatus(uuidv7(), { key: otherTenant });
    // Assess: same status, same code, same message shape; only the ids differ.
    expect(someoneElses.status).toBe(404);
    expect(unknown.status).toBe(404);
    const strip = (json: Record<string, unknown>, asked: string) => {
      const error = json.error as { code: string; message: string };
      return { code: error.code, message: error.message.replace(asked, '<id>') };
    };
    expect(strip(someoneElses.json, id)).toEqual(strip(unknown.json, (unknown.json.error as { message: string }).message.split(' ').at(-1)!));
    expect(strip(someoneElses.json, id)).toEqual({ code: 'NOT_FOUND', message: 'No request <id>' });
  });

  it('answers the same request id for the same Idempotency-Key and body, and 409 for a different body', async () => {
    // Prepare
    const key = `order-${uuidv7()}`;
    // Act
    const first = await client.submitAsync('sentiment', SENTIMENT, { headers: { 'idempotency-key': key } });
    const again = await client.submitAsync('sentiment', SENTIMENT, { headers: { 'idempotency-key': key } });
    const different = await client.submitAsync('sentiment', { instances: ['something else'] }, { headers: { 'idempotency-key': key } });
    // Assess
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    expect(again.json.request_id).toBe(first.json.request_id);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(different.status).toBe(409);
    expect(different.json.error).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
    const done = await client.waitForRequest(first.json.request_id as string);
    expect(done.json).toMatchObject({ status: 'succeeded', idempotency_key: key, deliveries: 1 });
  });

  it('refuses bad submissions at the door, audited as async-submission: a body that does not fit, stream: true, no key', async () => {
    // Act
    const badBody = await client.submitAsync('sentiment', { dataframe_split: { columns: 'text' } });
    const streamed = await client.submitAsync('assistant', { messages: [{ role: 'user', content: 'hi' }], stream: true });
    const anonymous = await client.submitAsync('sentiment', SENTIMENT, { key: null });
    // Assess
    expect(badBody.status).toBe(400);
    expect(badBody.json.error).toMatchObject({ code: 'INVALID_REQUEST', message: expect.stringContaining('dataframe_split.columns') });
    expect(streamed.status).toBe(400);
    expect(streamed.json.error).toMatchObject({ code: 'INVALID_REQUEST', message: expect.stringMatching(/^stream: not supported/) });
    expect(anonymous.status).toBe(401);
    const refused = await client.auditObject(badBody.headers.get('x-request-id')!);
    expect(refused?.record).toMatchObject({ kind: 'async-submission', status: 400, errorCode: 'INVALID_REQUEST', endpoint: 'sentiment' });
    expect(await client.usageEvents(badBody.headers.get('x-request-id')!)).toHaveLength(1);
  });

  it('gives a transiently failing request back to the queue with a backoff, then runs it', async () => {
    // Prepare: the model throttles the first call only (the endpoint does not retry in-request).
    await client.setFault('faulty-v1', { kind: 'throttle', times: 1 });
    // Act
    const id = (await client.submitAsync('faulty', SENTIMENT)).json.request_id as string;
    const retried = await (async () => {
      for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 50))) {
        const answer = await client.requestStatus(id);
        if (answer.json.last_error !== undefined || answer.json.status === 'succeeded') return answer;
      }
      return undefined;
    })();
    const done = await client.waitForRequest(id, { waitMs: 20_000 });
    // Assess: seen waiting with the error, then done on the second delivery.
    expect(retried?.json).toMatchObject({ status: 'queued', last_error: { code: 'BACKEND_THROTTLED' } });
    expect(done.json).toMatchObject({ status: 'succeeded', deliveries: 2 });
    const record = (await client.auditObject(id))?.record;
    expect(record?.attempts.map((attempt) => attempt.outcome)).toEqual(['BACKEND_THROTTLED', 'ok']);
    expect(record?.async?.deliveries).toBe(2);
  });

  it('marks a request failed with the reason on its last delivery and leaves its message in the DLQ', async () => {
    // Prepare: the model fails every call (502); each delivery retries after 1-2 s, five in all.
    await client.setFault('faulty-v1', { kind: 'model-error', originalStatus: 500, message: 'kaput' });
    const dlqDepth = async () => {
      const { Attributes } = await client.sqs.send(new GetQueueAttributesCommand({ QueueUrl: client.stack.asyncDeadLetterQueueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }));
      return Number(Attributes?.ApproximateNumberOfMessages ?? 0);
    };
    const before = await dlqDepth();
    // Act
    const id = (await client.submitAsync('faulty', SENTIMENT)).json.request_id as string;
    const done = await client.waitForRequest(id, { waitMs: 30_000 });
    // Assess
    expect(done.json).toMatchObject({
      status: 'failed',
      deliveries: 5,
      status_code: 502,
      error: { code: 'MODEL_ERROR', message: expect.stringMatching(/^Gave up after 5 deliveries; the last failed with: /) },
    });
    for (const deadline = Date.now() + 10_000; (await dlqDepth()) === before && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await dlqDepth()).toBe(before + 1);
    expect(await client.usageEvents(id)).toHaveLength(1);
  }, 45_000);
});
