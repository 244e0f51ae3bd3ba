import { beforeEach, describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { runAsyncMessage } from '../../../lib/core/async/run-async-message';
import { serveAsyncSubmission } from '../../../lib/core/async/serve-async-submission';
import { MAX_INLINE_RESULT_BYTES, serveRequestStatus, type RequestStatusDeps } from '../../../lib/core/async/serve-request-status';
import { ServiceUnavailableError } from '../../../lib/core/errors';
import { apiKeyRecordFor } from '../../../lib/core/api-key';
import { answering, FakeKeyStore } from '../../fakes/fake-ports';
import { asyncWorld, AUDITOR_KEY, delivery, IRIS, KEY, keyRecords, OTHER_TENANT_KEY, submissionOf } from './async-fixtures';

const json = (body: Uint8Array) => JSON.parse(new TextDecoder().decode(body)) as Record<string, unknown>;

/** An error answer with its request's id taken out: what tells one refusal from another. */
function errorShape(answer: { body: Uint8Array }, id: string) {
  const error = json(answer.body).error as Record<string, string>;
  return { code: error.code, message: error.message!.replace(id, '<id>'), keys: Object.keys(error).sort() };
}

describe('serveRequestStatus (GET /requests/{id})', () => {
  let world: ReturnType<typeof asyncWorld>;
  let deps: RequestStatusDeps;

  beforeEach(() => {
    world = asyncWorld();
    deps = {
      keys: world.keys,
      jobs: world.jobs,
      objects: world.objects,
      links: { urlFor: async (key, seconds) => `https://bucket.example/${key}?expires=${seconds}` },
    };
  });

  async function submit(body: unknown = IRIS) {
    const outcome = await serveAsyncSubmission(submissionOf(world, body), world.submission);
    return { requestId: outcome.requestId, message: delivery(world.queue.sent.at(-1)!.text) };
  }

  const read = (id: string | undefined, key = KEY) => serveRequestStatus({ requestId: uuidv7(), id, authorization: `Bearer ${key}` }, deps);

  it('shows a queued request, then its result once it succeeded', async () => {
    // Prepare
    const { requestId, message } = await submit();
    const queued = json((await read(requestId)).body);
    // Act
    await runAsyncMessage(message, world.worker);
    const done = await read(requestId);
    // Assess
    expect(queued).toMatchObject({ request_id: requestId, status: 'queued', endpoint: 'iris', started_at: null, finished_at: null, deliveries: 0 });
    expect(done.statusCode).toBe(200);
    expect(json(done.body)).toMatchObject({
      request_id: requestId,
      status: 'succeeded',
      status_code: 200,
      served_entity: 'iris-v1',
      usage: { kind: 'rows', input: 1 },
      deliveries: 1,
      result: { predictions: ['setosa'] },
      finished_at: expect.any(String),
    });
  });

  it('shows the last error while a request waits for its retry, and the error once it failed', async () => {
    // Prepare
    const { requestId, message } = await submit();
    world.backend.behaviour = async () => {
      throw new ServiceUnavailableError('BACKEND_UNAVAILABLE', 'The backend is down');
    };
    await runAsyncMessage(message, world.worker);
    const waiting = json((await read(requestId)).body);
    // Act
    await runAsyncMessage({ ...message, receiveCount: 5 }, world.worker);
    const failed = json((await read(requestId)).body);
    // Assess
    expect(waiting).toMatchObject({ status: 'queued', last_error: { code: 'BACKEND_UNAVAILABLE', message: 'The backend is down' } });
    expect(failed).toMatchObject({ status: 'failed', status_code: 503, error: { code: 'BACKEND_UNAVAILABLE', message: expect.stringMatching(/^Gave up after 5 deliveries/) } });
    expect(failed.result).toBeUndefined();
  });

  it('keeps showing running while the outcome is stored but its audit record is not yet handed off', async () => {
    // Prepare
    const { requestId, message } = await submit();
    world.audit.failWith = new Error('audit queue down');
    // Act
    await runAsyncMessage(message, world.worker);
    // Assess
    expect(json((await read(requestId)).body)).toMatchObject({ status: 'running', finished_at: null });
  });

  it('links to a result too large to answer inline', async () => {
    // Prepare
    const { requestId, message } = await submit();
    world.backend.behaviour = answering({ predictions: ['x'.repeat(MAX_INLINE_RESULT_BYTES)] });
    await runAsyncMessage(message, world.worker);
    // Act
    const view = json((await read(requestId)).body);
    // Assess
    expect(view).toMatchObject({ status: 'succeeded', result_url: `https://bucket.example/results/v1/${requestId}.json?expires=900`, result_bytes: Buffer.byteLength(JSON.stringify({ predictions: ['x'.repeat(MAX_INLINE_RESULT_BYTES)] })) });
    expect(view.result).toBeUndefined();
  });

  it('links to a result under the inline size that its escaping inside the Lambda answer would take past 6 MB', async () => {
    // Prepare: 3.9 MB stored, nearly all quotes, each of which takes two bytes once escaped.
    const { requestId, message } = await submit();
    const quoted = Array.from({ length: 1_300_000 }, () => '');
    world.backend.behaviour = answering({ predictions: quoted });
    await runAsyncMessage(message, world.worker);
    // Act
    const answer = (await read(requestId)).body;
    // Assess
    expect(world.jobs.requests.get(requestId)!.outcome!.resultBytes).toBeLessThan(MAX_INLINE_RESULT_BYTES);
    expect(json(answer)).toMatchObject({ status: 'succeeded', result_url: expect.stringContaining(requestId) });
    // The premise: inline, the escaped answer would have passed Lambda's 6 MB.
    expect(Buffer.byteLength(JSON.stringify(JSON.stringify({ predictions: quoted })))).toBeGreaterThan(6_291_456);
  });

  it('answers another tenant\'s request exactly as an unknown or malformed id: 404', async () => {
    // Prepare
    const { requestId } = await submit();
    // Act
    const theirs = await read(requestId, OTHER_TENANT_KEY);
    const unknown = await read(uuidv7(), OTHER_TENANT_KEY);
    const malformed = await read('../../etc/passwd', OTHER_TENANT_KEY);
    // Assess
    for (const outcome of [theirs, unknown, malformed]) expect(outcome.statusCode).toBe(404);
    expect(errorShape(theirs, requestId)).toEqual({ code: 'NOT_FOUND', message: 'No request <id>', keys: ['code', 'message', 'request_id'] });
    expect(errorShape(theirs, requestId)).toEqual(errorShape(malformed, '../../etc/passwd'));
    expect(theirs.headers).toEqual(unknown.headers);
  });

  it('answers a key of the same tenant not granted the request\'s endpoint as it answers an unknown id: 404', async () => {
    // Prepare: a key of tenant acme granted only `iris`, and a request of acme's to `private`.
    const narrowKey = `mgk_${'n'.repeat(43)}`;
    deps.keys = new FakeKeyStore([...keyRecords(), apiKeyRecordFor(narrowKey, { tenant: 'acme', roles: ['invoke'], endpoints: ['iris'], now: new Date('2026-11-21T10:00:00Z') })]);
    const outcome = await serveAsyncSubmission(submissionOf(world, IRIS, { endpointName: 'private' }), world.submission);
    // Act
    const narrow = await read(outcome.requestId, narrowKey);
    const unknownId = uuidv7();
    const unknown = await read(unknownId, narrowKey);
    const owner = await read(outcome.requestId);
    // Assess: the same error, word for word but the id, and the same headers.
    expect(narrow.statusCode).toBe(404);
    expect(owner.statusCode).toBe(200);
    expect(errorShape(narrow, outcome.requestId)).toEqual(errorShape(unknown, unknownId));
    expect(narrow.headers).toEqual(unknown.headers);
  });

  it('refuses a missing key (401) and a key without the invoke role (403)', async () => {
    // Act
    const anonymous = await serveRequestStatus({ requestId: uuidv7(), id: uuidv7(), authorization: undefined }, deps);
    const auditor = await read(uuidv7(), AUDITOR_KEY);
    // Assess
    expect(anonymous.statusCode).toBe(401);
    expect(auditor.statusCode).toBe(403);
  });
});
