import { beforeEach, describe, expect, it } from 'vitest';
import { apiKeyRecordFor, type ApiKeyRecord } from '../../lib/core/api-key';
import { createEndpointRegistry } from '../../lib/core/endpoint-registry';
import {
  BadGatewayError,
  GatewayTimeoutError,
  ModelInputError,
  ServiceUnavailableError,
} from '../../lib/core/errors';
import { CircuitBreakers } from '../../lib/core/circuit-breaker';
import type { SageMakerEntity } from '../../lib/core/endpoint-config';
import { serveInvocation, type InvocationDeps, type InvocationRequest } from '../../lib/core/serve-invocation';
import {
  FakeKeyStore,
  ManualClock,
  RecordingAuditSink,
  RecordingUsageSink,
  ScriptedBackend,
  answering,
  scriptedRegistry,
  hangingUntilAborted,
} from '../fakes/fake-ports';

const KEY = `mgk_${'a'.repeat(43)}`;
const OTHER_KEY = `mgk_${'b'.repeat(43)}`;
const SUSPENDED_KEY = `mgk_${'c'.repeat(43)}`;
const now = new Date('2026-11-21T10:00:00Z');

const endpoints = createEndpointRegistry({
  version: 1,
  endpoints: [
    {
      name: 'iris',
      task: 'custom',
      timeoutMs: 50,
      maxRequestBytes: 200,
      servedEntities: [{ name: 'iris-v1', backend: 'sagemaker', endpointName: 'iris-prod' }],
    },
    { name: 'churn', task: 'custom', servedEntities: [{ name: 'churn-v1', backend: 'sagemaker', endpointName: 'churn' }] },
  ],
});

const IRIS_BODY = JSON.stringify({ instances: [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]] });

function keyRecords(): ApiKeyRecord[] {
  return [
    apiKeyRecordFor(KEY, { tenant: 'acme', roles: ['invoke'], endpoints: ['iris'], now }),
    apiKeyRecordFor(OTHER_KEY, { tenant: 'globex', roles: ['auditor'], endpoints: ['*'], now }),
    { ...apiKeyRecordFor(SUSPENDED_KEY, { tenant: 'acme', roles: ['invoke'], endpoints: ['*'], now }), status: 'suspended' },
  ];
}

describe('serveInvocation', () => {
  let backend: ScriptedBackend;
  let audit: RecordingAuditSink;
  let usage: RecordingUsageSink;
  let clock: ManualClock;
  let deps: InvocationDeps;
  let sequence = 0;

  beforeEach(() => {
    backend = new ScriptedBackend(answering({ predictions: ['setosa', 'virginica'] }));
    usage = new RecordingUsageSink();
    audit = new RecordingAuditSink(usage);
    clock = new ManualClock();
    deps = {
      endpoints,
      keys: new FakeKeyStore(keyRecords()),
      backends: scriptedRegistry(backend),
      audit,
      usage,
      clock,
      breakers: new CircuitBreakers(),
      sleep: async () => undefined,
    };
  });

  function request(overrides: Partial<InvocationRequest> & { json?: string } = {}): InvocationRequest {
    sequence += 1;
    const { json, ...rest } = overrides;
    return {
      requestId: `req-${sequence}`,
      receivedAt: clock.now(),
      startedAt: clock.monotonic(),
      surface: 'invocations',
      endpointName: 'iris',
      authorization: `Bearer ${KEY}`,
      contentType: 'application/json',
      body: new TextEncoder().encode(json ?? IRIS_BODY),
      clientIp: '203.0.113.9',
      userAgent: 'curl/8.5',
      ...rest,
    };
  }

  /** Serves a JSON request and waits until it has settled. */
  async function serve(sent: InvocationRequest, withDeps: InvocationDeps = deps) {
    const outcome = await serveInvocation(sent, withDeps);
    if (!(outcome.body instanceof Uint8Array)) throw new Error('expected a JSON answer');
    const settled = await outcome.settled;
    return { ...settled, statusCode: outcome.statusCode, headers: outcome.headers, body: outcome.body };
  }

  function errorOf(outcome: { body: Uint8Array }): { code: string; message: string; request_id: string } {
    return (JSON.parse(new TextDecoder().decode(outcome.body)) as { error: { code: string; message: string; request_id: string } }).error;
  }

  it('answers the model\'s predictions, forwarding the caller\'s bytes to the served entity', async () => {
    // Prepare
    const sent = request();
    backend.behaviour = async (call) => {
      clock.advance(12);
      return answering({ predictions: ['setosa', 'virginica'] })(call);
    };
    // Act
    const outcome = await serve(sent, deps);
    // Assess
    expect(outcome.statusCode).toBe(200);
    expect(JSON.parse(new TextDecoder().decode(outcome.body))).toEqual({ predictions: ['setosa', 'virginica'] });
    expect(outcome.headers['x-modelgate-served-entity']).toBe('iris-v1');
    expect((backend.requests[0]?.entity as SageMakerEntity | undefined)?.endpointName).toBe('iris-prod');
    expect(new TextDecoder().decode(backend.requests[0]?.input as Uint8Array)).toBe(IRIS_BODY);
    expect(outcome.audit.backendLatencyMs).toBe(12);
  });

  it('audits a served request with who, what, which model, sizes and both bodies', async () => {
    // Act
    const outcome = await serve(request(), deps);
    // Assess
    expect(audit.records).toHaveLength(1);
    expect(audit.records[0]).toMatchObject({
      requestId: outcome.audit.requestId,
      tenant: 'acme',
      keyId: keyRecords()[0]!.keyId,
      endpoint: 'iris',
      servedEntity: 'iris-v1',
      status: 200,
      errorCode: null,
      client: { ip: '203.0.113.9', userAgent: 'curl/8.5' },
      request: { bytes: IRIS_BODY.length, body: JSON.parse(IRIS_BODY) },
      response: { body: { predictions: ['setosa', 'virginica'] } },
    });
  });

  it('emits one usage event counting the rows scored', async () => {
    // Act
    const outcome = await serve(request(), deps);
    // Assess
    expect(usage.events).toEqual([
      expect.objectContaining({
        requestId: outcome.audit.requestId,
        tenant: 'acme',
        endpoint: 'iris',
        servedEntity: 'iris-v1',
        status: 200,
        units: { kind: 'rows', input: 2 },
        requestBytes: IRIS_BODY.length,
      }),
    ]);
  });

  type RefusalCase = [string, Partial<InvocationRequest> & { json?: string }, number, string, RegExp];
  it.each(
    ([
    ['no Authorization header', { authorization: undefined }, 401, 'UNAUTHENTICATED', /Missing Authorization header/],
    ['a non-Bearer scheme', { authorization: `Basic ${KEY}` }, 401, 'UNAUTHENTICATED', /Malformed Authorization header/],
    ['an unknown key', { authorization: `Bearer mgk_${'z'.repeat(43)}` }, 401, 'UNAUTHENTICATED', /Invalid API key/],
    ['a suspended key', { authorization: `Bearer ${SUSPENDED_KEY}` }, 403, 'PERMISSION_DENIED', /is suspended/],
    ['a key without the invoke role', { authorization: `Bearer ${OTHER_KEY}` }, 403, 'PERMISSION_DENIED', /invoke role/],
    ['an endpoint the key is not granted', { endpointName: 'churn' }, 403, 'PERMISSION_DENIED', /not granted endpoint churn/],
    ['an unknown endpoint', { endpointName: 'nope' }, 404, 'NOT_FOUND', /No serving endpoint named nope/],
    ['a body over the endpoint limit', { json: JSON.stringify({ instances: Array(100).fill(1) }) }, 413, 'PAYLOAD_TOO_LARGE', /accepts at most 200/],
    ['a non-JSON content type', { contentType: 'text/csv' }, 415, 'UNSUPPORTED_MEDIA_TYPE', /text\/csv/],
    ['malformed JSON', { json: '{"instances": [1,' }, 400, 'INVALID_REQUEST', /not valid JSON/],
    ['an empty body', { json: '' }, 400, 'INVALID_REQUEST', /empty/],
    ['a body nested 65 levels deep', { json: `{"instances":${'['.repeat(64)}1${']'.repeat(64)}}` }, 400, 'INVALID_REQUEST', /more than 64 levels deep/],
    ['two input formats', { json: '{"instances":[1],"inputs":[1]}' }, 400, 'INVALID_REQUEST', /got instances and inputs/],
    ['a wrongly typed field', { json: '{"dataframe_split":{"columns":"a","data":[[1]]}}' }, 400, 'INVALID_REQUEST', /dataframe_split\.columns/],
  ] as RefusalCase[]).map(([name, overrides, status, code, message]) => ({ name, overrides, status, code, message })),
  )(
    'refuses $name with $status and audits the refusal without calling the model',
    async ({ overrides, status, code, message }) => {
    // Act
    const outcome = await serve(request(overrides), deps);
    // Assess
    expect(outcome.statusCode).toBe(status);
    expect(errorOf(outcome)).toMatchObject({ code, request_id: outcome.audit.requestId });
    expect(errorOf(outcome).message).toMatch(message);
    expect(backend.requests).toHaveLength(0);
    expect(audit.records).toEqual([expect.objectContaining({ status, errorCode: code })]);
    expect(usage.events).toEqual([expect.objectContaining({ status, units: { kind: 'rows', input: 0 } })]);
    },
  );

  it('never stores or echoes the key itself', async () => {
    // Act
    const outcome = await serve(request({ endpointName: 'churn' }), deps);
    // Assess
    const everything = JSON.stringify([outcome.audit, usage.events, new TextDecoder().decode(outcome.body)]);
    expect(everything).not.toContain(KEY);
  });

  type BackendFailureCase = [string, Error, number, string];
  it.each(
    ([
    ['the model rejects the input', new ModelInputError('The model rejected the input (status 400): bad column'), 400, 'MODEL_REJECTED_INPUT'],
    ['the model fails', new BadGatewayError('MODEL_ERROR', 'The model behind iris-v1 failed (status 500)'), 502, 'MODEL_ERROR'],
    ['the backend throttles', new ServiceUnavailableError('BACKEND_THROTTLED', 'at capacity', { headers: { 'retry-after': '1' } }), 503, 'BACKEND_THROTTLED'],
    ['the backend is down', new ServiceUnavailableError('BACKEND_UNAVAILABLE', 'unavailable'), 503, 'BACKEND_UNAVAILABLE'],
  ] as BackendFailureCase[]).map(([name, thrown, status, code]) => ({ name, thrown, status, code })),
  )(
    'answers $status $code when $name, audited against the served entity',
    async ({ thrown, status, code }) => {
    // Prepare
    backend.behaviour = async () => {
      throw thrown;
    };
    // Act
    const outcome = await serve(request(), deps);
    // Assess
    expect(outcome.statusCode).toBe(status);
    expect(errorOf(outcome).code).toBe(code);
    expect(outcome.headers['x-modelgate-served-entity']).toBe('iris-v1');
    expect(audit.records[0]).toMatchObject({ status, errorCode: code, servedEntity: 'iris-v1' });
    },
  );

  it('passes a throttled backend\'s retry-after on to the caller', async () => {
    backend.behaviour = async () => {
      throw new ServiceUnavailableError('BACKEND_THROTTLED', 'at capacity', { headers: { 'retry-after': '1' } });
    };
    const outcome = await serve(request(), deps);
    expect(outcome.headers['retry-after']).toBe('1');
  });

  it('aborts the backend call at the endpoint\'s timeout and answers 504', async () => {
    // Prepare
    backend.behaviour = hangingUntilAborted((reason) => new GatewayTimeoutError('did not answer in time', { cause: reason }));
    // Act
    const started = performance.now();
    const outcome = await serve(request(), deps);
    // Assess
    expect(outcome.statusCode).toBe(504);
    expect(errorOf(outcome).code).toBe('BACKEND_TIMEOUT');
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(backend.requests[0]?.signal.aborted).toBe(true);
  });

  it.each([
    ['not JSON', new TextEncoder().encode('<html>oops</html>')],
    ['JSON without predictions', new TextEncoder().encode('{"result": 1}')],
  ])('answers 502 when the model answers with %s', async (_case, body) => {
    backend.behaviour = async () => ({ body, contentType: 'text/html' });
    const outcome = await serve(request(), deps);
    expect(outcome.statusCode).toBe(502);
    expect(errorOf(outcome).code).toBe('BAD_BACKEND_RESPONSE');
  });

  it('hides an unexpected failure behind an opaque 500', async () => {
    // Prepare
    backend.behaviour = async () => {
      throw new Error('socket hang up at arn:aws:sagemaker:us-east-1:123456789012:endpoint/iris-prod');
    };
    // Act
    const outcome = await serve(request(), deps);
    // Assess
    expect(outcome.statusCode).toBe(500);
    expect(errorOf(outcome)).toMatchObject({ code: 'INTERNAL_ERROR', message: 'Internal error' });
    expect(JSON.stringify(audit.records[0])).not.toContain('arn:aws');
  });

  it('withholds an answer whose audit record cannot be handed off (503)', async () => {
    // Prepare
    audit.failWith = new Error('S3 unreachable');
    // Act
    const outcome = await serve(request(), deps);
    // Assess
    expect(outcome.statusCode).toBe(503);
    expect(errorOf(outcome).code).toBe('AUDIT_UNAVAILABLE');
    expect(new TextDecoder().decode(outcome.body)).not.toContain('setosa');
    expect(outcome.handoffError).toBeInstanceOf(Error);
  });

  it('hands off the usage event with the audit record, in one write', async () => {
    const outcome = await serve(request(), deps);
    expect(outcome.statusCode).toBe(200);
    expect(audit.records).toHaveLength(1);
    expect(audit.withUsage).toBe(1);
    expect(usage.publishedAlone).toBe(0);
    expect(usage.events).toEqual([expect.objectContaining({ requestId: audit.records[0]!.requestId, status: 200 })]);
  });

  it('withholds an answer whose audit record and usage event cannot be handed off (503)', async () => {
    audit.failWith = new Error('SQS unreachable');
    const outcome = await serve(request(), deps);
    expect(outcome.statusCode).toBe(503);
    expect(outcome.headers['x-modelgate-overhead-ms']).toBeDefined();
    // A required audit is not bypassed by billing the request on its own.
    expect(usage.events).toEqual([]);
  });

  it('keeps a refusal\'s own status when the audit hand-off also fails', async () => {
    audit.failWith = new Error('S3 unreachable');
    const outcome = await serve(request({ authorization: undefined }), deps);
    expect(outcome.statusCode).toBe(401);
    expect(outcome.handoffError).toBeInstanceOf(Error);
  });

  it('reports the time not spent in the backend, hand-offs included, as overhead', async () => {
    // Prepare
    backend.behaviour = async (call) => {
      clock.advance(40);
      return answering({ predictions: [] })(call);
    };
    const sent = request();
    clock.advance(3);
    // Act
    const outcome = await serve(sent, deps);
    // Assess
    expect(outcome.headers['x-modelgate-overhead-ms']).toBe('3.00');
    expect(outcome.audit.latencyMs).toBe(43);
  });

  it('counts slow audit and usage hand-offs as overhead', async () => {
    // Prepare
    const slowAudit = { record: async () => clock.advance(7) };
    // Act
    const outcome = await serve(request(), { ...deps, audit: slowAudit });
    // Assess
    expect(outcome.overheadMs).toBe(7);
    expect(outcome.headers['x-modelgate-overhead-ms']).toBe('7.00');
  });
});
