import { beforeEach, describe, expect, it } from 'vitest';
import { ASYNC_REQUEST_MESSAGE_SCHEMA } from '../../../lib/core/async/async-request-message';
import { runAsyncMessage } from '../../../lib/core/async/run-async-message';
import { serveAsyncSubmission } from '../../../lib/core/async/serve-async-submission';
import { asyncWorld, AUDITOR_KEY, delivery, IRIS, submissionOf } from './async-fixtures';

const json = (body: Uint8Array) => JSON.parse(new TextDecoder().decode(body)) as Record<string, unknown>;

describe('serveAsyncSubmission (POST /serving-endpoints/{name}/async-invocations)', () => {
  let world: ReturnType<typeof asyncWorld>;

  beforeEach(() => {
    world = asyncWorld();
  });

  it('answers 202 with the request id, status and status URL, having stored the request and queued its message', async () => {
    // Prepare
    const request = submissionOf(world, IRIS);
    // Act
    const outcome = await serveAsyncSubmission(request, world.submission);
    // Assess
    const statusUrl = `https://api.example.com/prod/requests/${request.requestId}`;
    expect(outcome).toMatchObject({ statusCode: 202, requestId: request.requestId, headers: { location: statusUrl } });
    expect(json(outcome.body)).toEqual({ request_id: request.requestId, status: 'queued', status_url: statusUrl });
    expect(world.jobs.requests.get(request.requestId)).toMatchObject({ status: 'queued', tenant: 'acme', origin: 'http', endpoint: 'iris', body: { stored: false } });
    expect(JSON.parse(world.queue.sent[0]!.text)).toEqual({ schema: ASYNC_REQUEST_MESSAGE_SCHEMA, requestId: request.requestId, tenant: 'acme', endpoint: 'iris', body: IRIS });
    // Accepted requests are audited when they end, not twice.
    expect(world.audit.records).toEqual([]);
    expect(world.usage.events).toEqual([]);
  });

  it('stores a body too large for a message in the bucket and sends a reference to it (claim check)', async () => {
    // Prepare
    world.submission.settings.maxInlineMessageBytes = 120;
    const request = submissionOf(world, IRIS);
    // Act
    await serveAsyncSubmission(request, world.submission);
    // Assess
    const stored = world.objects.objects.get(`requests/v1/${request.requestId}.json`)!;
    expect(JSON.parse(new TextDecoder().decode(stored.body))).toEqual(IRIS);
    const message = JSON.parse(world.queue.sent[0]!.text) as Record<string, unknown>;
    expect(message.body).toBeUndefined();
    expect(message.bodyRef).toEqual({ sha256: world.jobs.requests.get(request.requestId)!.body.sha256, bytes: stored.body.byteLength });
  });

  it('sends a stored body\'s reference again on a replay without writing the body twice (the bucket takes each body once)', async () => {
    // Prepare: a body stored by reference, then the submission stops in the send.
    world.submission.settings.maxInlineMessageBytes = 120;
    const send = world.queue.send.bind(world.queue);
    world.queue.send = () => new Promise<void>(() => undefined);
    void serveAsyncSubmission(submissionOf(world, IRIS, { idempotencyKey: 'stored' }), world.submission);
    await new Promise((resolve) => setImmediate(resolve));
    world.queue.send = send;
    // Act: the caller's retry a minute later sends the message again.
    world.clock.advance(61_000);
    const replay = await serveAsyncSubmission(submissionOf(world, IRIS, { idempotencyKey: 'stored' }), world.submission);
    await runAsyncMessage(delivery(world.queue.sent[0]!.text), world.worker);
    // Assess
    expect(replay).toMatchObject({ statusCode: 202, replayed: true });
    expect(world.objects.objects.get(`requests/v1/${replay.requestId}.json`)?.options).toMatchObject({ ifNoneMatch: true });
    expect(world.jobs.requests.get(replay.requestId)).toMatchObject({ status: 'succeeded' });
  });

  it.each([
    ['no key', { authorization: undefined }, IRIS, 401, 'UNAUTHENTICATED'],
    ['a key without the invoke role', { authorization: `Bearer ${AUDITOR_KEY}` }, IRIS, 403, 'PERMISSION_DENIED'],
    ['an unknown endpoint', { endpointName: 'nope' }, IRIS, 404, 'NOT_FOUND'],
    ['a body over the endpoint\'s limit', {}, { instances: Array.from({ length: 2_000 }, () => [1, 2, 3, 4]) }, 413, 'PAYLOAD_TOO_LARGE'],
    ['a body that does not fit the task', {}, { dataframe_split: { columns: 'x' } }, 400, 'INVALID_REQUEST'],
    ['stream: true', { endpointName: 'assistant' }, { messages: [{ role: 'user', content: 'hi' }], stream: true }, 400, 'INVALID_REQUEST'],
    ['a malformed idempotency key', { idempotencyKey: ' spaced ' }, IRIS, 400, 'INVALID_REQUEST'],
  ] as const)('refuses %s at the door, audited (async-submission) and counted, nothing queued', async (_name, options, body, status, code) => {
    // Act
    const outcome = await serveAsyncSubmission(submissionOf(world, body, options), world.submission);
    // Assess
    expect(outcome.statusCode).toBe(status);
    expect(json(outcome.body)).toMatchObject({ error: { code, request_id: outcome.requestId } });
    expect(world.queue.sent).toEqual([]);
    expect(world.jobs.requests.size).toBe(0);
    expect(world.audit.records).toEqual([expect.objectContaining({ kind: 'async-submission', requestId: outcome.requestId, status, errorCode: code })]);
    // Counted by the abuse rules as on the synchronous path: a 401 has no key, only the caller's address.
    expect(world.usage.events).toEqual([expect.objectContaining({ requestId: outcome.requestId, status, async: true, clientIp: '203.0.113.7' })]);
  });

  it('redacts the record of a refusal by the policy of the endpoint it named (403: a key without the invoke role)', async () => {
    // Act: endpoint `private` masks request.instances.
    const outcome = await serveAsyncSubmission(submissionOf(world, { instances: [['Jane Roe', 42]] }, { endpointName: 'private', authorization: `Bearer ${AUDITOR_KEY}` }), world.submission);
    // Assess
    expect(outcome.statusCode).toBe(403);
    expect(world.audit.records[0]).toMatchObject({ endpoint: 'private', request: { body: { instances: '[REDACTED]' } } });
    expect(JSON.stringify(world.audit.records)).not.toContain('Jane Roe');
  });

  it('answers the original request for the same Idempotency-Key and body, and 409 for another body or endpoint', async () => {
    // Prepare
    const first = await serveAsyncSubmission(submissionOf(world, IRIS, { idempotencyKey: 'order-42' }), world.submission);
    // Act: whitespace differs, the JSON is the same.
    const again = await serveAsyncSubmission(submissionOf(world, JSON.stringify(IRIS, null, 2), { idempotencyKey: 'order-42' }), world.submission);
    const otherBody = await serveAsyncSubmission(submissionOf(world, { instances: [[1, 1, 1, 1]] }, { idempotencyKey: 'order-42' }), world.submission);
    const otherEndpoint = await serveAsyncSubmission(submissionOf(world, IRIS, { idempotencyKey: 'order-42', endpointName: 'private' }), world.submission);
    // Assess
    expect(again).toMatchObject({ statusCode: 202, requestId: first.requestId, replayed: true, headers: { 'idempotent-replayed': 'true' } });
    expect(json(again.body)).toMatchObject({ request_id: first.requestId, status: 'queued' });
    expect(otherBody.statusCode).toBe(409);
    expect(json(otherBody.body)).toMatchObject({ error: { code: 'IDEMPOTENCY_KEY_REUSED' } });
    expect(otherEndpoint.statusCode).toBe(409);
    // The earlier request may be another key's, to an endpoint this one is not granted: not named.
    expect(new TextDecoder().decode(otherEndpoint.body)).not.toContain(first.requestId);
    // The replay found the request not yet delivered, so it sent its message once more (harmless: the worker runs it once).
    expect(world.queue.sent.map((sent) => sent.requestId)).toEqual([first.requestId, first.requestId]);
  });

  it('keeps idempotency keys per tenant', async () => {
    // Act
    const mine = await serveAsyncSubmission(submissionOf(world, IRIS, { idempotencyKey: 'k1' }), world.submission);
    const theirs = await serveAsyncSubmission(submissionOf(world, IRIS, { idempotencyKey: 'k1', authorization: `Bearer mgk_${'b'.repeat(43)}` }), world.submission);
    // Assess
    expect(theirs.statusCode).toBe(202);
    expect(theirs.requestId).not.toBe(mine.requestId);
  });

  it('answers 409 (in use) while a key\'s first submission is still being stored, and takes over a reservation left behind', async () => {
    // Prepare: a reservation whose request never got stored (its submission died).
    const dead = submissionOf(world, IRIS);
    await world.jobs.reserveKey(
      { tenant: 'acme', key: 'k2', requestId: dead.requestId, endpoint: 'iris', bodySha256: (await import('../../../lib/core/audit-log/sha256')).sha256Hex(JSON.stringify(IRIS)), createdAt: world.clock.now().toISOString(), expiresAt: 4_000_000_000 },
      world.clock.now(),
    );
    // Act
    const tooSoon = await serveAsyncSubmission(submissionOf(world, IRIS, { idempotencyKey: 'k2' }), world.submission);
    world.clock.advance(31_000);
    const later = await serveAsyncSubmission(submissionOf(world, IRIS, { idempotencyKey: 'k2' }), world.submission);
    // Assess
    expect(tooSoon.statusCode).toBe(409);
    expect(tooSoon.headers['retry-after']).toBe('1');
    expect(json(tooSoon.body)).toMatchObject({ error: { code: 'IDEMPOTENCY_KEY_IN_USE' } });
    expect(later.statusCode).toBe(202);
  });

  it('frees the idempotency key when the submission fails before it was queued (here: the bucket)', async () => {
    // Prepare
    world.submission.settings.maxInlineMessageBytes = 100;
    world.objects.failWith = new Error('S3 unreachable');
    // Act
    const failed = await serveAsyncSubmission(submissionOf(world, IRIS, { idempotencyKey: 'k4' }), world.submission);
    world.objects.failWith = undefined;
    const retried = await serveAsyncSubmission(submissionOf(world, IRIS, { idempotencyKey: 'k4' }), world.submission);
    // Assess
    expect(failed.statusCode).toBe(500);
    expect(json(failed.body)).toMatchObject({ error: { code: 'INTERNAL_ERROR', message: 'Internal error' } });
    expect(retried.statusCode).toBe(202);
    expect(retried.replayed).toBeUndefined();
  });

  it('answers 503 when the message cannot be queued: the request is failed, the key freed for a retry', async () => {
    // Prepare
    world.queue.failWith = new Error('SQS unreachable');
    // Act
    const refused = await serveAsyncSubmission(submissionOf(world, IRIS, { idempotencyKey: 'k3' }), world.submission);
    world.queue.failWith = undefined;
    const retried = await serveAsyncSubmission(submissionOf(world, IRIS, { idempotencyKey: 'k3' }), world.submission);
    // Assess
    expect(refused.statusCode).toBe(503);
    expect(json(refused.body)).toMatchObject({ error: { code: 'QUEUE_UNAVAILABLE' } });
    expect(world.jobs.requests.get(refused.requestId)).toMatchObject({ status: 'failed', outcome: { error: { code: 'QUEUE_UNAVAILABLE' } } });
    expect(world.audit.records).toEqual([expect.objectContaining({ kind: 'async-submission', status: 503 })]);
    expect(retried).toMatchObject({ statusCode: 202 });
    expect(retried.requestId).not.toBe(refused.requestId);
  });

  it('accepts a submission whose send failed on our side after SQS stored the message, once a worker has taken it', async () => {
    // Prepare: the message reaches the queue and a worker claims it, then the send's answer is lost.
    const send = world.queue.send.bind(world.queue);
    world.queue.send = async (text, attributes) => {
      await send(text, attributes);
      await runAsyncMessage(delivery(text), world.worker);
      throw new Error('socket hang up');
    };
    // Act
    const outcome = await serveAsyncSubmission(submissionOf(world, IRIS, { idempotencyKey: 'k5' }), world.submission);
    // Assess: accepted, run once, and no refusal under its id.
    expect(outcome.statusCode).toBe(202);
    expect(world.jobs.requests.get(outcome.requestId)).toMatchObject({ status: 'succeeded' });
    expect(world.audit.records.filter((record) => record.requestId === outcome.requestId)).toEqual([expect.objectContaining({ kind: 'async-invocation', status: 200 })]);
  });

  it('answers 503 under another id when the request may still run (sent, but the send said it failed, and it could not be marked failed)', async () => {
    // Prepare: SQS stores the message but the call reports a failure; the job store is unreachable too.
    const send = world.queue.send.bind(world.queue);
    world.queue.send = async (text, attributes) => {
      await send(text, attributes);
      throw new Error('connection reset after the message was stored');
    };
    world.jobs.failSubmission = async () => {
      throw new Error('DynamoDB unreachable');
    };
    const request = submissionOf(world, IRIS, { idempotencyKey: 'undecided' });
    // Act: the caller is refused; then the stored message runs, and the caller retries with its key.
    const outcome = await serveAsyncSubmission(request, world.submission);
    await runAsyncMessage(delivery(world.queue.sent[0]!.text), world.worker);
    const retried = await serveAsyncSubmission(submissionOf(world, IRIS, { idempotencyKey: 'undecided' }), world.submission);
    // Assess: two exchanges, two records, neither the other's duplicate.
    expect(outcome.statusCode).toBe(503);
    expect(outcome.requestId).not.toBe(request.requestId);
    expect(json(outcome.body)).toMatchObject({ error: { code: 'QUEUE_UNAVAILABLE', request_id: outcome.requestId, message: expect.stringContaining(`GET /requests/${request.requestId}`) } });
    expect(world.audit.records.map((record) => [record.kind, record.requestId])).toEqual([
      ['async-submission', outcome.requestId],
      ['async-invocation', request.requestId],
    ]);
    // The key still points at the request that ran: the retry answers for it instead of running it again.
    expect(retried).toMatchObject({ statusCode: 202, requestId: request.requestId, replayed: true });
    expect(world.backend.requests).toHaveLength(1);
  });

  /**
   * Submits with `key` while SQS refuses the send and marking the request failed goes through
   * `failMark` (given the real mark); both are whole again afterwards.
   */
  async function submitWhileSendAndMarkFail(key: string, failMark: (mark: () => Promise<boolean>) => Promise<boolean>) {
    world.queue.failWith = new Error('SQS unreachable');
    const failSubmission = world.jobs.failSubmission.bind(world.jobs);
    world.jobs.failSubmission = (...args) => failMark(() => failSubmission(...args));
    const request = submissionOf(world, IRIS, { idempotencyKey: key });
    const refused = await serveAsyncSubmission(request, world.submission);
    world.queue.failWith = undefined;
    world.jobs.failSubmission = failSubmission;
    return { request, refused };
  }

  it('queues a request whose send failed unseen and could not be marked failed, on the caller\'s retry with its key', async () => {
    // Prepare: SQS never stored the message, the job store is unreachable for the mark.
    const { request, refused } = await submitWhileSendAndMarkFail('lost?', async () => {
      throw new Error('DynamoDB unreachable');
    });
    // Act: the caller retries at once, with its key.
    const retried = await serveAsyncSubmission(submissionOf(world, IRIS, { idempotencyKey: 'lost?' }), world.submission);
    await runAsyncMessage(delivery(world.queue.sent[0]!.text), world.worker);
    // Assess: the retry sent the message the first attempt may never have sent, and the request ran.
    expect(refused.statusCode).toBe(503);
    expect(retried).toMatchObject({ statusCode: 202, requestId: request.requestId, replayed: true });
    expect(world.jobs.requests.get(request.requestId)).toMatchObject({ status: 'succeeded' });
  });

  it('submits afresh on the retry of a request marked failed unseen (the mark was stored, its answer lost)', async () => {
    // Prepare: the send fails; the mark is stored but its answer is lost.
    const { request, refused } = await submitWhileSendAndMarkFail('marked', async (mark) => {
      await mark();
      throw new Error('connection reset after the write');
    });
    // Act
    const retried = await serveAsyncSubmission(submissionOf(world, IRIS, { idempotencyKey: 'marked' }), world.submission);
    // Assess: not the failed request answered for a day, a new one queued.
    expect(refused.statusCode).toBe(503);
    expect(retried.statusCode).toBe(202);
    expect(retried.replayed ?? false).toBe(false);
    expect(retried.requestId).not.toBe(request.requestId);
    expect(world.queue.sent).toEqual([expect.objectContaining({ requestId: retried.requestId })]);
  });

  it('sends the message again when a replay finds its request stored but never delivered (the submission stopped before sending), then once a minute at most', async () => {
    // Prepare: the first submission stores its request, then its function stops in the send, for good.
    const send = world.queue.send.bind(world.queue);
    world.queue.send = () => new Promise<void>(() => undefined);
    void serveAsyncSubmission(submissionOf(world, IRIS, { idempotencyKey: 'k6' }), world.submission);
    await new Promise((resolve) => setImmediate(resolve));
    world.queue.send = send;
    const [first] = [...world.jobs.requests.values()];
    expect(first).toMatchObject({ status: 'queued', deliveries: 0 });
    // Act: a retry at once sends the message; another at once does not.
    const early = await serveAsyncSubmission(submissionOf(world, IRIS, { idempotencyKey: 'k6' }), world.submission);
    const sentEarly = world.queue.sent.length;
    const again = await serveAsyncSubmission(submissionOf(world, IRIS, { idempotencyKey: 'k6' }), world.submission);
    // Assess: the first replay queued the request, which then runs.
    expect(early).toMatchObject({ statusCode: 202, requestId: first!.requestId, replayed: true });
    expect(again).toMatchObject({ statusCode: 202, requestId: first!.requestId, replayed: true });
    expect(sentEarly).toBe(1);
    expect(world.queue.sent).toEqual([expect.objectContaining({ requestId: first!.requestId })]);
    // Replays side by side, at once and a minute on, send again once a minute at most.
    await Promise.all([1, 2].map(() => serveAsyncSubmission(submissionOf(world, IRIS, { idempotencyKey: 'k6' }), world.submission)));
    world.clock.advance(61_000);
    await Promise.all([1, 2, 3].map(() => serveAsyncSubmission(submissionOf(world, IRIS, { idempotencyKey: 'k6' }), world.submission)));
    expect(world.queue.sent).toHaveLength(2);
    // A re-send that fails gives its turn back: the caller's retry (503, retry-after) sends.
    world.clock.advance(61_000);
    world.queue.failWith = new Error('SQS unreachable');
    const failed = await serveAsyncSubmission(submissionOf(world, IRIS, { idempotencyKey: 'k6' }), world.submission);
    world.queue.failWith = undefined;
    const retried = await serveAsyncSubmission(submissionOf(world, IRIS, { idempotencyKey: 'k6' }), world.submission);
    expect(failed.statusCode).toBe(503);
    expect(retried).toMatchObject({ statusCode: 202, replayed: true });
    expect(world.queue.sent).toHaveLength(3);
    await runAsyncMessage(delivery(world.queue.sent[0]!.text), world.worker);
    expect(world.jobs.requests.get(first!.requestId)).toMatchObject({ status: 'succeeded' });
  });
});
