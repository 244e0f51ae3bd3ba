import { beforeEach, describe, expect, it } from 'vitest';
import { apiKeyRecordFor } from '../../lib/core/api-key';
import { CircuitBreakers } from '../../lib/core/circuit-breaker';
import { createEndpointRegistry } from '../../lib/core/endpoint-registry';
import { serveInvocation, type InvocationDeps, type InvocationRequest } from '../../lib/core/serve-invocation';
import { usageEventSchema } from '../../lib/core/usage-event';
import { FakeKeyStore, ManualClock, RecordingAuditSink, RecordingUsageSink, ScriptedBackend, answering, scriptedRegistry } from '../fakes/fake-ports';
import { SECRET_SHAPED } from '../fixtures/secret-shaped';

const KEY = `mgk_${'a'.repeat(43)}`;
/** Granted only `best-effort`. */
const NARROW_KEY = `mgk_${'b'.repeat(43)}`;
const PLANTED = {
  email: 'jane.roe@example.com',
  card: '4111 1111 1111 1111',
  phone: '+1 415 555 2671',
  awsKey: SECRET_SHAPED.awsAccessKeyId,
  bearer: 'Bearer sk-live-abcdefghijklmnopqrstuvwx',
};

const endpoints = createEndpointRegistry({
  version: 1,
  endpoints: [
    {
      name: 'support',
      task: 'custom',
      maxRequestBytes: 1_000,
      audit: { redaction: { drop: ['request.params.session'], mask: ['request.dataframe_records[*].customer'] } },
      servedEntities: [{ name: 'support-v1', backend: 'sagemaker', endpointName: 'support' }],
    },
    { name: 'sk-learn-churn-classifier', task: 'custom', servedEntities: [{ name: 'sk-learn-churn-v1', backend: 'sagemaker', endpointName: 'churn' }] },
    {
      name: 'best-effort',
      task: 'custom',
      audit: { required: false },
      servedEntities: [{ name: 'best-effort-v1', backend: 'sagemaker', endpointName: 'best-effort' }],
    },
  ],
});

describe('serveInvocation and the audit policy', () => {
  let audit: RecordingAuditSink;
  let usage: RecordingUsageSink;
  let deps: InvocationDeps;
  const clock = new ManualClock();

  beforeEach(() => {
    usage = new RecordingUsageSink();
    audit = new RecordingAuditSink(usage);
    const backend = new ScriptedBackend(answering({ predictions: [`contact ${PLANTED.email}`] }));
    const keys = new FakeKeyStore([
      apiKeyRecordFor(KEY, { tenant: 'acme', roles: ['invoke'], endpoints: ['*'], now: new Date() }),
      apiKeyRecordFor(NARROW_KEY, { tenant: 'acme', roles: ['invoke'], endpoints: ['best-effort'], now: new Date() }),
    ]);
    deps = { endpoints, keys, backends: scriptedRegistry(backend), audit, usage, clock, breakers: new CircuitBreakers(), sleep: async () => undefined };
  });

  /** Serves a JSON request and waits until it has settled. */
  async function serve(sent: InvocationRequest) {
    const outcome = await serveInvocation(sent, deps);
    if (!(outcome.body instanceof Uint8Array)) throw new Error('expected a JSON answer');
    return { ...(await outcome.settled), statusCode: outcome.statusCode, body: outcome.body };
  }

  function request(endpointName: string, body: unknown): InvocationRequest {
    return {
      requestId: '01a1ffdf-0000-7000-8000-000000000001',
      receivedAt: clock.now(),
      startedAt: clock.monotonic(),
      surface: 'invocations',
      endpointName,
      authorization: `Bearer ${KEY}`,
      contentType: 'application/json',
      body: new TextEncoder().encode(JSON.stringify(body)),
      clientIp: '203.0.113.9',
      userAgent: `agent ${PLANTED.email}`,
    };
  }

  it('hands the sinks a record redacted by the endpoint\'s policy: nothing planted survives, anywhere', async () => {
    // Prepare
    const body = {
      dataframe_records: [{ customer: 'Jane Roe', text: `my card is ${PLANTED.card}, call ${PLANTED.phone}, key ${PLANTED.awsKey}` }],
      params: { session: 'abc', auth: PLANTED.bearer },
    };
    // Act
    const outcome = await serve(request('support', body));
    // Assess
    expect(outcome.statusCode).toBe(200);
    const handedOff = JSON.stringify([audit.records, usage.events, outcome.audit]);
    for (const planted of [...Object.values(PLANTED), 'sk-live-abcdefghijklmnopqrstuvwx', 'Jane Roe']) expect(handedOff).not.toContain(planted);
    expect(audit.records[0]!.request.body).toEqual({
      dataframe_records: [{ customer: '[REDACTED]', text: 'my card is [REDACTED:card], call [REDACTED:phone], key [REDACTED:secret]' }],
      params: { auth: 'Bearer [REDACTED:secret]' },
    });
    expect(audit.records[0]!.redaction).toMatchObject({ dropped: 1, masked: 1 });
    // The caller still gets the model's own answer, untouched.
    expect(new TextDecoder().decode(outcome.body)).toContain(PLANTED.email);
  });

  it.each([
    ['403, the key not granted the endpoint', () => ({ ...request('support', { dataframe_records: [{ customer: 'Jane Roe' }] }), authorization: `Bearer ${NARROW_KEY}` }), 403],
    ['413, the body over the endpoint\'s limit', () => request('support', { dataframe_records: [{ customer: 'Jane Roe', notes: 'x'.repeat(1_000) }] }), 413],
    [
      '400, the endpoint named on another task\'s surface',
      () => ({ ...request('support', { model: 'support', dataframe_records: [{ customer: 'Jane Roe' }] }), surface: 'chat' as const, endpointName: undefined }),
      400,
    ],
  ])('redacts the record of a refusal (%s) by the policy of the endpoint it named', async (_case, refused, status) => {
    const outcome = await serve(refused());
    expect(outcome.statusCode).toBe(status);
    expect(audit.records[0]!.endpoint).toBe('support');
    expect(JSON.stringify(audit.records)).not.toContain('Jane Roe');
    expect((audit.records[0]!.request.body as { dataframe_records: Array<{ customer: string }> }).dataframe_records[0]!.customer).toBe('[REDACTED]');
  });

  it('bills an endpoint whose configured name looks like a key under that name', async () => {
    const outcome = await serve(request('sk-learn-churn-classifier', { inputs: [[1, 2]] }));
    expect(outcome.statusCode).toBe(200);
    expect(usage.events[0]).toMatchObject({ endpoint: 'sk-learn-churn-classifier', servedEntity: 'sk-learn-churn-v1' });
  });

  it('redacts the record of a request to an unknown endpoint with the default policy', async () => {
    const outcome = await serve(request(`nope-${PLANTED.email}`, { inputs: [PLANTED.card] }));
    expect(outcome.statusCode).toBe(404);
    expect(JSON.stringify(audit.records)).not.toMatch(/jane\.roe|4111/);
  });

  it('hands off a usage event the archiver takes for a request to an endpoint name of any length', async () => {
    // Act: 300 characters, and masking makes an e-mail address in it longer still.
    const outcome = await serve(request(`${'x'.repeat(290)}!${PLANTED.email}`, { inputs: [1] }));
    // Assess: the archiver refuses a record whose usage event does not parse (it would end in the DLQ).
    expect(outcome.statusCode).toBe(404);
    expect(audit.records[0]!.endpoint.length).toBeGreaterThan(300);
    expect(usageEventSchema.safeParse(usage.events[0]).success).toBe(true);
  });

  it('serves an endpoint that opted out of fail-closed auditing when the audit hand-off fails, and says so', async () => {
    // Prepare
    audit.failWith = new Error('queue down');
    // Act
    const optedOut = await serve(request('best-effort', { inputs: ['x'] }));
    const required = await serve(request('support', { inputs: ['x'] }));
    // Assess
    expect(optedOut.statusCode).toBe(200);
    expect(optedOut.handoffError).toBeInstanceOf(Error);
    expect(required.statusCode).toBe(503);
    // The opted-out request is still billed: its usage event went out on its own.
    expect(usage.publishedAlone).toBe(1);
    expect(usage.events.map((event) => event.endpoint)).toEqual(['best-effort']);
  });

  it('still withholds an opted-out endpoint\'s answer when its usage event is lost too', async () => {
    audit.failWith = new Error('queue down');
    usage.failWith = new Error('queue down');
    const outcome = await serve(request('best-effort', { inputs: ['x'] }));
    expect(outcome.statusCode).toBe(503);
  });
});
