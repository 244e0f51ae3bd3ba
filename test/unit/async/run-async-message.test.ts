import { v7 as uuidv7 } from 'uuid';
import { beforeEach, describe, expect, it } from 'vitest';
import { ASYNC_REQUEST_MESSAGE_SCHEMA } from '../../../lib/core/async/async-request-message';
import { inGatewaySpace, inProducerSpace } from '../../../lib/core/request-id-space';
import { visibleStatus } from '../../../lib/core/async/async-request';
import { runAsyncMessage } from '../../../lib/core/async/run-async-message';
import { serveAsyncSubmission } from '../../../lib/core/async/serve-async-submission';
import { archivableRecordFromMessage, usageEventFromAttribute } from '../../../lib/core/audit-log/archivable-record';
import { sha256Hex } from '../../../lib/core/audit-log/sha256';
import { ModelInputError, ServiceUnavailableError } from '../../../lib/core/errors';
import { answering, FakeKeyStore } from '../../fakes/fake-ports';
import { asyncWorld, delivery, IRIS, KEY, keyRecords, redelivery, submissionOf, SUSPENDED_KEY } from './async-fixtures';

describe('runAsyncMessage (one delivery of the async worker)', () => {
  let world: ReturnType<typeof asyncWorld>;

  beforeEach(() => {
    world = asyncWorld();
  });

  /** Submits over the "API" and returns the request id and the message it queued. */
  async function submitted(body: unknown = IRIS, options: Parameters<typeof submissionOf>[2] = {}) {
    const outcome = await serveAsyncSubmission(submissionOf(world, body, options), world.submission);
    expect(outcome.statusCode).toBe(202);
    const sent = world.queue.sent.at(-1)!;
    return { requestId: outcome.requestId, message: delivery(sent.text) };
  }

  function producerMessage(fields: Record<string, unknown> = {}) {
    return JSON.stringify({ schema: ASYNC_REQUEST_MESSAGE_SCHEMA, requestId: inProducerSpace(uuidv7({ msecs: world.clock.now().getTime() })), tenant: 'acme', endpoint: 'iris', body: IRIS, ...fields });
  }

  it('runs a submitted request once: result stored, succeeded, one audit record and one usage event', async () => {
    // Prepare
    const { requestId, message } = await submitted();
    world.clock.advance(250);
    // Act
    const disposition = await runAsyncMessage(message, world.worker);
    // Assess
    expect(disposition).toEqual({ kind: 'finished', requestId, status: 'succeeded', statusCode: 200 });
    expect(world.backend.requests).toHaveLength(1);
    expect(JSON.parse(new TextDecoder().decode(world.objects.objects.get(`results/v1/${requestId}.json`)!.body))).toEqual({ predictions: ['setosa'] });
    const stored = world.jobs.requests.get(requestId)!;
    expect(visibleStatus(stored)).toBe('succeeded');
    expect(stored).toMatchObject({ deliveries: 1, lease: null, handoff: { audit: true, usage: true }, outcome: { statusCode: 200, servedEntity: 'iris-v1' } });
    expect(world.audit.records).toHaveLength(1);
    expect(world.audit.records[0]).toMatchObject({
      kind: 'async-invocation',
      requestId,
      tenant: 'acme',
      keyId: expect.stringMatching(/^key_/),
      endpoint: 'iris',
      status: 200,
      latencyMs: 250,
      client: { ip: '203.0.113.7', userAgent: 'pipeline/2.0' },
      request: { body: IRIS },
      response: { body: { predictions: ['setosa'] } },
      async: { origin: 'http', deliveries: 1, submittedAt: '2026-11-21T10:15:30.000Z', finishedAt: '2026-11-21T10:15:30.250Z' },
    });
    expect(world.usage.events).toEqual([expect.objectContaining({ requestId, status: 200, async: true, units: { kind: 'rows', input: 1 } })]);
    // One message: the usage event rides along with the audit record.
    expect(world.audit.withUsage).toBe(1);
    expect(world.usage.publishedAlone).toBe(0);
  });

  it('acknowledges a duplicate delivery of a settled request without calling the model or recording anything again', async () => {
    // Prepare
    const { requestId, message } = await submitted();
    await runAsyncMessage(message, world.worker);
    // Act: the same message sent twice (a producer's retry): another message id.
    const duplicate = await runAsyncMessage(delivery(message.body), world.worker);
    // Assess
    expect(duplicate).toEqual({ kind: 'duplicate', requestId, reason: 'settled' });
    expect(world.backend.requests).toHaveLength(1);
    expect(world.audit.records).toHaveLength(1);
    expect(world.usage.events).toHaveLength(1);
  });

  it('leaves a request alone while another message\'s delivery holds its lease', async () => {
    // Prepare: the first delivery is still calling the model when the duplicate arrives.
    const { requestId, message } = await submitted();
    let duplicate: Awaited<ReturnType<typeof runAsyncMessage>> | undefined;
    world.backend.behaviour = async (call) => {
      duplicate = await runAsyncMessage(delivery(message.body), world.worker);
      return answering({ predictions: ['setosa'] })(call);
    };
    // Act
    const first = await runAsyncMessage(message, world.worker);
    // Assess
    expect(duplicate).toEqual({ kind: 'duplicate', requestId, reason: 'busy' });
    expect(first).toMatchObject({ kind: 'finished', status: 'succeeded' });
    expect(world.backend.requests).toHaveLength(1);
  });

  it('gives a transiently failing request back: queued with the error, the message delayed with a growing backoff, nothing recorded', async () => {
    // Prepare
    const { requestId, message } = await submitted();
    world.backend.behaviour = async () => {
      throw new ServiceUnavailableError('BACKEND_THROTTLED', 'SageMaker throttled the request', { headers: { 'retry-after': '1' } });
    };
    // Act
    const first = await runAsyncMessage(message, world.worker);
    const second = await runAsyncMessage(redelivery(message), world.worker);
    // Assess: backoff 10 s then 20 s (equal jitter at its middle: 7.5 → 8, 15).
    expect(first).toMatchObject({ kind: 'retry', requestId, delaySeconds: 8 });
    expect(second).toMatchObject({ kind: 'retry', requestId, delaySeconds: 15 });
    expect(world.queue.delays.map((delay) => delay.seconds)).toEqual([8, 15]);
    const stored = world.jobs.requests.get(requestId)!;
    expect(stored).toMatchObject({ status: 'queued', deliveries: 2, lease: null, lastError: { code: 'BACKEND_THROTTLED' } });
    expect(stored.attempts.map((attempt) => attempt.outcome)).toEqual(['BACKEND_THROTTLED', 'BACKEND_THROTTLED']);
    expect(world.audit.records).toHaveLength(0);
    expect(world.usage.events).toHaveLength(0);
  });

  it('on the last delivery marks the request failed with the reason, audits it, and leaves the message to the DLQ', async () => {
    // Prepare
    const { requestId, message } = await submitted();
    world.backend.behaviour = async () => {
      throw new TypeError('segfault-like bug in the model client');
    };
    // Act
    const disposition = await runAsyncMessage({ ...message, receiveCount: 5 }, world.worker);
    // Assess
    expect(disposition).toMatchObject({ kind: 'dead-letter', requestId, markedFailed: true });
    expect(world.queue.delays.at(-1)).toEqual({ receiptHandle: message.receiptHandle, seconds: 0 });
    const stored = world.jobs.requests.get(requestId)!;
    expect(visibleStatus(stored)).toBe('failed');
    expect(stored.outcome).toMatchObject({ statusCode: 500, error: { code: 'INTERNAL_ERROR', message: 'Gave up after 5 deliveries; the last failed with: Internal error' } });
    expect(world.audit.records).toEqual([expect.objectContaining({ kind: 'async-invocation', status: 500, errorCode: 'INTERNAL_ERROR' })]);
    expect(world.usage.events).toHaveLength(1);
  });

  it('fails a request the model refuses (its own 4xx) at once, without retrying', async () => {
    // Prepare
    const { requestId, message } = await submitted();
    world.backend.behaviour = async () => {
      throw new ModelInputError('petal_width: expected a number');
    };
    // Act
    const disposition = await runAsyncMessage(message, world.worker);
    // Assess
    expect(disposition).toEqual({ kind: 'finished', requestId, status: 'failed', statusCode: 400, errorCode: 'MODEL_REJECTED_INPUT' });
    expect(world.queue.delays).toEqual([]);
    expect(JSON.parse(new TextDecoder().decode(world.objects.objects.get(`results/v1/${requestId}.json`)!.body))).toEqual({
      error: { code: 'MODEL_REJECTED_INPUT', message: 'petal_width: expected a number', request_id: requestId },
    });
  });

  it('honours a suspension of the submitting key: its queued request fails with 403 instead of running', async () => {
    // Prepare: submitted by a key that is active at the time, suspended before the request runs.
    const { requestId, message } = await submitted();
    const stored = world.jobs.requests.get(requestId)!;
    world.jobs.requests.set(requestId, { ...stored, keyHash: (await import('../../../lib/core/api-key')).hashApiKey(SUSPENDED_KEY) });
    // Act
    const disposition = await runAsyncMessage(message, world.worker);
    // Assess
    expect(disposition).toMatchObject({ kind: 'finished', status: 'failed', statusCode: 403, errorCode: 'PERMISSION_DENIED' });
    expect(world.backend.requests).toHaveLength(0);
  });

  it('honours a rotation: a request of a key past its grace period fails with 403 instead of running', async () => {
    // Prepare: submitted while the key worked; by the time it runs (10:15:30), its grace ended at 10:15.
    const { message } = await submitted();
    const keyHash = (await import('../../../lib/core/api-key')).hashApiKey(KEY);
    world.worker.keys = new FakeKeyStore(keyRecords().map((record) => (record.keyHash === keyHash ? { ...record, expiresAt: '2026-11-21T10:15:00.000Z' } : record)));
    // Act
    const disposition = await runAsyncMessage(message, world.worker);
    // Assess
    expect(disposition).toMatchObject({ kind: 'finished', status: 'failed', statusCode: 403, errorCode: 'PERMISSION_DENIED' });
    expect(world.backend.requests).toHaveLength(0);
  });

  it('runs a producer\'s message for a granted tenant, creating the request from the message', async () => {
    // Prepare
    const text = producerMessage();
    const { requestId } = JSON.parse(text) as { requestId: string };
    // Act
    const disposition = await runAsyncMessage(delivery(text), world.worker);
    // Assess
    expect(disposition).toMatchObject({ kind: 'finished', requestId, status: 'succeeded' });
    expect(world.jobs.requests.get(requestId)).toMatchObject({ origin: 'sqs', tenant: 'acme', keyId: null, client: { userAgent: 'sqs:AIDAEXAMPLEUSER1' } });
    expect(world.audit.records[0]).toMatchObject({ keyId: null, async: { origin: 'sqs' } });
  });

  it('records a producer\'s message for an ungranted endpoint or sender as a failed request (403), not a silent drop', async () => {
    // Act
    const ungranted = await runAsyncMessage(delivery(producerMessage({ tenant: 'acme', endpoint: 'assistant', body: { messages: [] } })), world.worker);
    const wrongSender = await runAsyncMessage(delivery(producerMessage({ tenant: 'pinned' }), { senderId: 'AROAOTHERROLE99:session' }), world.worker);
    const rightSender = await runAsyncMessage(delivery(producerMessage({ tenant: 'pinned' }), { senderId: 'AROAPINNEDROLE1:batch-job' }), world.worker);
    // Assess
    expect(ungranted).toMatchObject({ kind: 'finished', status: 'failed', statusCode: 403 });
    expect(wrongSender).toMatchObject({ kind: 'finished', status: 'failed', statusCode: 403 });
    expect(rightSender).toMatchObject({ kind: 'finished', status: 'succeeded' });
    expect(world.audit.records.map((record) => record.errorMessage)).toEqual([
      'Tenant acme may not send requests for endpoint assistant through the queue',
      'The sender of this message may not send requests for tenant pinned',
      null,
    ]);
  });

  it('hands off a record and bill the archiver takes for a producer\'s request dated ahead of our clock (within the skew accepted)', async () => {
    // Prepare: a producer whose clock runs two minutes fast.
    const requestId = inProducerSpace(uuidv7({ msecs: world.clock.now().getTime() + 120_000 }));
    // Act
    const disposition = await runAsyncMessage(delivery(producerMessage({ requestId })), world.worker);
    // Assess: what the archiver does with the message: the record and its usage event are taken.
    expect(disposition).toMatchObject({ kind: 'finished', requestId, status: 'succeeded' });
    const record = archivableRecordFromMessage(JSON.stringify(world.audit.records[0]));
    expect(usageEventFromAttribute(JSON.stringify(world.usage.events[0]), record)).toMatchObject({ requestId, latencyMs: 0 });
  });

  it('ends a waiting request whose message comes back too late to run (a DLQ redriven after the window): failed, expired, audited, never run', async () => {
    // Prepare: accepted, then its message waited in the DLQ past the 144 hours a request may wait.
    const { requestId, message } = await submitted();
    world.clock.advance(6.5 * 86_400_000);
    // Act
    const disposition = await runAsyncMessage(message, world.worker);
    // Assess
    expect(disposition).toMatchObject({ kind: 'finished', requestId, status: 'failed', statusCode: 504, errorCode: 'REQUEST_EXPIRED' });
    expect(visibleStatus(world.jobs.requests.get(requestId)!)).toBe('failed');
    expect(world.backend.requests).toHaveLength(0);
    expect(world.audit.records).toEqual([expect.objectContaining({ kind: 'async-invocation', requestId, status: 504, errorCode: 'REQUEST_EXPIRED' })]);
  });

  it('still refuses a too-old message whose request it does not know (a producer\'s, never run): retried, never run', async () => {
    const text = producerMessage({ requestId: inProducerSpace(uuidv7({ msecs: world.clock.now().getTime() - 6.5 * 86_400_000 })) });
    const disposition = await runAsyncMessage(delivery(text), world.worker);
    expect(disposition).toMatchObject({ kind: 'retry' });
    expect(world.backend.requests).toHaveLength(0);
  });

  it('acknowledges a too-old duplicate of a settled request as any duplicate: not retried, not dead-lettered, nothing recorded again', async () => {
    // Prepare: the request ran and settled; a copy of its message comes back after the window.
    const { requestId, message } = await submitted();
    await runAsyncMessage(message, world.worker);
    world.clock.advance(6.5 * 86_400_000);
    // Act: on its first delivery, and on what would be its last.
    const late = await runAsyncMessage(delivery(message.body), world.worker);
    const lastChance = await runAsyncMessage(delivery(message.body, { receiveCount: 5 }), world.worker);
    // Assess
    expect(late).toEqual({ kind: 'duplicate', requestId, reason: 'settled' });
    expect(lastChance).toEqual({ kind: 'duplicate', requestId, reason: 'settled' });
    expect(world.queue.delays).toEqual([]);
    expect(world.jobs.requests.get(requestId)).toMatchObject({ status: 'succeeded', deliveries: 1, outcome: { statusCode: 200 } });
    expect(world.backend.requests).toHaveLength(1);
    expect(world.audit.records).toEqual([expect.objectContaining({ requestId, status: 200 })]);
    expect(world.usage.events).toHaveLength(1);
  });

  it('leaves a waiting request to the delivery holding its lease when a too-old copy of its message arrives meanwhile', async () => {
    // Prepare: past the window, a delivery of one redriven copy holds the lease.
    const { requestId, message } = await submitted();
    world.clock.advance(6.5 * 86_400_000);
    const bodySha256 = world.jobs.requests.get(requestId)!.body.sha256;
    await world.jobs.claim(requestId, { tenant: 'acme', endpoint: 'iris', bodySha256 }, { messageId: 'redriven-copy', receiveCount: 1, until: world.clock.now().getTime() + 120_000 }, world.clock.now());
    // Act
    const disposition = await runAsyncMessage(message, world.worker);
    // Assess
    expect(disposition).toEqual({ kind: 'duplicate', requestId, reason: 'busy' });
    expect(world.queue.delays).toEqual([]);
    expect(world.jobs.requests.get(requestId)).toMatchObject({ status: 'running', outcome: null });
    expect(world.audit.records).toEqual([]);
  });

  it('dead-letters a too-old message whose waiting request cannot be ended on its last delivery, without failing it for another reason', async () => {
    // Prepare: past the window, the async bucket refuses the expiry's result once.
    const { requestId, message } = await submitted();
    world.clock.advance(6.5 * 86_400_000);
    const put = world.objects.put.bind(world.objects);
    world.objects.put = async () => {
      world.objects.put = put;
      throw new Error('S3 unavailable');
    };
    // Act
    const disposition = await runAsyncMessage({ ...message, receiveCount: 5 }, world.worker);
    // Assess: a redrive can still end it as expired.
    expect(disposition).toMatchObject({ kind: 'dead-letter', requestId, markedFailed: false });
    expect(world.jobs.requests.get(requestId)).toMatchObject({ outcome: null });
    expect(world.audit.records).toEqual([]);
  });

  it('hands off the failure of a request whose stored body is missing on a redrive, once the last delivery could not', async () => {
    // Prepare: the last delivery records the failure, but the audit queue is down.
    world.submission.settings.maxInlineMessageBytes = 100;
    const { requestId, message } = await submitted({ instances: [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]] });
    world.objects.tamper(`requests/v1/${requestId}.json`, undefined);
    world.audit.failWith = new Error('audit queue down');
    await runAsyncMessage({ ...message, receiveCount: 5 }, world.worker);
    world.audit.failWith = undefined;
    // Act: the message is redriven from the DLQ, after the last delivery's lease ran out.
    world.clock.advance(10 * 60_000);
    const redriven = await runAsyncMessage({ ...message, messageId: 'redriven', receiveCount: 1 }, world.worker);
    // Assess
    expect(redriven).toMatchObject({ kind: 'finished', requestId, status: 'failed' });
    expect(world.audit.records).toEqual([expect.objectContaining({ requestId, status: 500 })]);
  });

  it('retries the hand-off of an ended request while its stored body cannot be read for now, and never records it without the body', async () => {
    // Prepare: a request by reference that succeeded, whose hand-off failed.
    world.submission.settings.maxInlineMessageBytes = 100;
    const { requestId, message } = await submitted({ instances: [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]] });
    world.audit.failWith = new Error('audit queue down');
    await runAsyncMessage(message, world.worker);
    world.audit.failWith = undefined;
    world.clock.advance(10 * 60_000);
    // Act: the next delivery cannot read the body for now (S3 slow), the one after can.
    const get = world.objects.get.bind(world.objects);
    world.objects.get = async (key) => {
      if (key === `requests/v1/${requestId}.json`) throw new Error('S3 timed out');
      return get(key);
    };
    const meanwhile = await runAsyncMessage({ ...message, receiveCount: 2 }, world.worker);
    world.objects.get = get;
    world.clock.advance(10 * 60_000);
    const later = await runAsyncMessage({ ...message, receiveCount: 3 }, world.worker);
    // Assess
    expect(meanwhile).toMatchObject({ kind: 'retry', requestId });
    expect(later).toMatchObject({ kind: 'finished', requestId, status: 'succeeded' });
    expect(world.audit.records).toEqual([expect.objectContaining({ requestId, status: 200, request: expect.objectContaining({ bytes: expect.any(Number) }) })]);
    expect(world.audit.records[0]!.request.bytes).toBeGreaterThan(0);
  });

  it('never starts a producer\'s request under an id the gateway minted (a synchronous request\'s, already audited and billed)', async () => {
    // Prepare: a producer resends under the x-request-id a synchronous call gave it.
    const gatewayId = inGatewaySpace(uuidv7({ msecs: world.clock.now().getTime() }));
    const text = producerMessage({ requestId: gatewayId });
    // Act
    const disposition = await runAsyncMessage(delivery(text), world.worker);
    // Assess: not run, nothing created, nothing audited or billed under that id.
    expect(disposition).toMatchObject({ kind: 'retry', error: expect.objectContaining({ message: expect.stringContaining('a producer\'s request id must start its fourth group with a or b') }) });
    expect(world.backend.requests).toHaveLength(0);
    expect(world.jobs.requests.has(gatewayId)).toBe(false);
    expect(world.audit.records).toEqual([]);
  });

  it('refuses (400, at once) a producer\'s body stored by reference that nests deeper than a request may', async () => {
    // Prepare: a producer stores the body itself and sends a reference to it.
    const bodyText = `{"instances":${'['.repeat(70)}1${']'.repeat(70)}}`;
    const bytes = new TextEncoder().encode(bodyText);
    const text = producerMessage({ body: undefined, bodyRef: { sha256: sha256Hex(bytes), bytes: bytes.byteLength } });
    const { requestId } = JSON.parse(text) as { requestId: string };
    await world.objects.put(`requests/v1/${requestId}.json`, bytes, { ifNoneMatch: true });
    // Act
    const disposition = await runAsyncMessage(delivery(text), world.worker);
    // Assess
    expect(disposition).toMatchObject({ kind: 'finished', requestId, status: 'failed', statusCode: 400 });
    expect(world.audit.records).toEqual([expect.objectContaining({ status: 400, errorMessage: expect.stringContaining('more than 64 levels deep') })]);
    expect(world.backend.requests).toHaveLength(0);
  });

  it('retries, then dead-letters, a message that is not a request, without inventing one', async () => {
    // Act
    const first = await runAsyncMessage(delivery('{"hello": "world"}'), world.worker);
    const last = await runAsyncMessage(delivery('not json', { receiveCount: 5 }), world.worker);
    // Assess
    expect(first).toMatchObject({ kind: 'retry', requestId: undefined });
    expect(last).toMatchObject({ kind: 'dead-letter', requestId: undefined, markedFailed: false });
    expect(world.jobs.requests.size).toBe(0);
    expect(world.audit.records).toHaveLength(0);
  });

  it('never runs a message whose id belongs to another submission (different tenant or body)', async () => {
    // Prepare
    const { requestId } = await submitted();
    const forged = producerMessage({ requestId, body: { instances: [[9, 9, 9, 9]] } });
    // Act
    const disposition = await runAsyncMessage(delivery(forged), world.worker);
    // Assess
    expect(disposition).toMatchObject({ kind: 'retry', requestId });
    expect(world.backend.requests).toHaveLength(0);
    expect(world.jobs.requests.get(requestId)).toMatchObject({ status: 'queued', deliveries: 0 });
  });

  it('after a crash between the outcome and the hand-off, the next delivery hands off only what is missing', async () => {
    // Prepare: the audit queue is down; the usage event goes out on its own.
    const { requestId, message } = await submitted();
    world.audit.failWith = new Error('audit queue unreachable');
    const first = await runAsyncMessage(message, world.worker);
    expect(first).toMatchObject({ kind: 'retry', requestId });
    expect(visibleStatus(world.jobs.requests.get(requestId)!)).toBe('running');
    // Act: the audit queue is back; the message comes back after its backoff.
    world.audit.failWith = undefined;
    const second = await runAsyncMessage(redelivery(message), world.worker);
    // Assess: one model call, one usage event, one audit record, all consistent.
    expect(second).toEqual({ kind: 'finished', requestId, status: 'succeeded', statusCode: 200 });
    expect(world.backend.requests).toHaveLength(1);
    expect(world.usage.events).toHaveLength(1);
    expect(world.usage.publishedAlone).toBe(1);
    expect(world.audit.records).toHaveLength(1);
    expect(world.audit.withUsage).toBe(0);
    expect(world.audit.records[0]).toMatchObject({ response: { body: { predictions: ['setosa'] } } });
    expect(visibleStatus(world.jobs.requests.get(requestId)!)).toBe('succeeded');
  });

  it('on the last delivery, a request whose outcome is committed keeps it when only the hand-off fails, and its message goes round again', async () => {
    // Prepare
    const { requestId, message } = await submitted();
    world.audit.failWith = new Error('audit queue unreachable');
    const sentBefore = world.queue.sent.length;
    // Act: the last delivery, then the copy it sent once the audit queue is back.
    const disposition = await runAsyncMessage({ ...message, receiveCount: 5 }, world.worker);
    const kept = world.jobs.requests.get(requestId);
    world.audit.failWith = undefined;
    world.clock.advance(300_000);
    const copy = world.queue.sent.at(-1)!;
    const second = await runAsyncMessage(delivery(copy.text), world.worker);
    // Assess: the answer kept, nothing marked failed over it, not dead-lettered (it would show as running until a redrive)...
    expect(disposition).toMatchObject({ kind: 'sent-again', requestId, delaySeconds: 300 });
    expect(kept).toMatchObject({ status: 'succeeded', handoff: { audit: false, usage: true } });
    expect(world.queue.sent.length).toBe(sentBefore + 1);
    expect(copy).toMatchObject({ text: message.body, requestId, delaySeconds: 300 });
    expect(JSON.parse(new TextDecoder().decode(world.objects.objects.get(`results/v1/${requestId}.json`)!.body))).toEqual({ predictions: ['setosa'] });
    // ... and the copy hands the record off: settled, audited once, billed once.
    expect(second).toMatchObject({ kind: 'finished', requestId, status: 'succeeded' });
    expect(visibleStatus(world.jobs.requests.get(requestId)!)).toBe('succeeded');
    expect(world.audit.records.filter((record) => record.requestId === requestId)).toHaveLength(1);
    expect(world.usage.events.filter((event) => event.requestId === requestId)).toHaveLength(1);
  });

  it('dead-letters a request whose hand-off failed on its last delivery when its message cannot be sent again either', async () => {
    const { requestId, message } = await submitted();
    world.audit.failWith = new Error('audit queue unreachable');
    world.queue.failWith = new Error('SQS unreachable');
    const disposition = await runAsyncMessage({ ...message, receiveCount: 5 }, world.worker);
    expect(disposition).toMatchObject({ kind: 'dead-letter', requestId, markedFailed: false });
  });

  it('settles without the audit record where the endpoint does not require auditing, and redacts by its policy', async () => {
    // Prepare
    const { requestId, message } = await submitted({ instances: [[1, 2, 3, 4]] }, { endpointName: 'private' });
    world.audit.failWith = new Error('audit queue unreachable');
    // Act
    const disposition = await runAsyncMessage(message, world.worker);
    world.audit.failWith = undefined;
    const audited = await submitted({ instances: [[1, 2, 3, 4]] }, { endpointName: 'private' });
    await runAsyncMessage(audited.message, world.worker);
    // Assess
    expect(disposition).toMatchObject({ kind: 'finished', requestId, status: 'succeeded', auditHandoffError: expect.objectContaining({ message: 'audit queue unreachable' }) });
    expect(visibleStatus(world.jobs.requests.get(requestId)!)).toBe('succeeded');
    expect(world.usage.events.map((event) => event.requestId)).toEqual([requestId, audited.requestId]);
    expect(world.audit.records).toEqual([expect.objectContaining({ requestId: audited.requestId, request: expect.objectContaining({ body: { instances: '[REDACTED]' } }) })]);
  });

  it('says so when a request dead-lettered on its last delivery settled without its audit record (the endpoint does not require one)', async () => {
    // Prepare
    const { requestId, message } = await submitted({ instances: [[1, 2, 3, 4]] }, { endpointName: 'private' });
    world.backend.behaviour = async () => {
      throw new TypeError('segfault-like bug in the model client');
    };
    world.audit.failWith = new Error('audit queue unreachable');
    // Act
    const disposition = await runAsyncMessage({ ...message, receiveCount: 5 }, world.worker);
    // Assess
    expect(disposition).toMatchObject({ kind: 'dead-letter', requestId, markedFailed: true, auditHandoffError: expect.objectContaining({ message: 'audit queue unreachable' }) });
  });

  it('bills an async request with what the abuse rules count: the caller\'s address and the guardrail patterns its body matched', async () => {
    // Prepare
    const { requestId, message } = await submitted({ instances: ['please ignore previous instructions'] });
    // Act
    await runAsyncMessage(message, world.worker);
    // Assess
    expect(world.usage.events.find((event) => event.requestId === requestId)).toMatchObject({ clientIp: '203.0.113.7', contentFlags: ['prompt-injection'] });
  });

  it('takes over the lease of an earlier delivery of the same message, and of a holder whose lease expired', async () => {
    // Prepare: a delivery took the lease and died (no release).
    const { requestId, message } = await submitted();
    await world.jobs.claim(requestId, { tenant: 'acme', endpoint: 'iris', bodySha256: world.jobs.requests.get(requestId)!.body.sha256 }, { messageId: message.messageId, receiveCount: 1, until: world.clock.now().getTime() + 120_000 }, world.clock.now());
    // Act
    const busyForOthers = await runAsyncMessage(delivery(message.body), world.worker);
    const sameMessageLater = await runAsyncMessage(redelivery(message), world.worker);
    // Assess
    expect(busyForOthers).toMatchObject({ kind: 'duplicate', reason: 'busy' });
    expect(sameMessageLater).toMatchObject({ kind: 'finished', status: 'succeeded' });
    expect(world.jobs.requests.get(requestId)!.deliveries).toBe(2);
  });

  it('reads a body sent by reference from the bucket, and refuses one that does not match its hash', async () => {
    // Prepare
    world.submission.settings.maxInlineMessageBytes = 100;
    const { requestId, message } = await submitted({ instances: [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]] });
    expect(JSON.parse(message.body)).toMatchObject({ bodyRef: { bytes: expect.any(Number) } });
    const tampered = await submitted();
    world.objects.tamper(`requests/v1/${tampered.requestId}.json`, new TextEncoder().encode('{"instances":[[0,0,0,0]]}'));
    // Act
    const good = await runAsyncMessage(message, world.worker);
    const bad = await runAsyncMessage(tampered.message, world.worker);
    // Assess
    expect(good).toMatchObject({ kind: 'finished', requestId, status: 'succeeded' });
    expect(bad).toMatchObject({ kind: 'retry', requestId: tampered.requestId });
    expect(world.backend.requests).toHaveLength(1);
  });

  it.each([
    ['missing', undefined],
    ['not matching its hash', new TextEncoder().encode('{"instances":[[0,0,0,0]]}')],
  ])('ends a request whose stored body is %s on its last delivery: failed, audited, dead-lettered, never left running', async (_, stored) => {
    // Prepare
    world.submission.settings.maxInlineMessageBytes = 100;
    const { requestId, message } = await submitted({ instances: [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]] });
    world.objects.tamper(`requests/v1/${requestId}.json`, stored);
    // Act
    const disposition = await runAsyncMessage({ ...message, receiveCount: 5 }, world.worker);
    // Assess
    expect(disposition).toMatchObject({ kind: 'dead-letter', requestId, markedFailed: true });
    expect(visibleStatus(world.jobs.requests.get(requestId)!)).toBe('failed');
    expect(world.audit.records).toEqual([expect.objectContaining({ kind: 'async-invocation', status: 500, errorCode: 'INTERNAL_ERROR' })]);
    expect(world.backend.requests).toHaveLength(0);
  });
});
