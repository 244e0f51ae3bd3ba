import { afterEach, describe, expect, it } from 'vitest';
import { stackClient } from './stack-client';

const client = stackClient();

const SENTIMENT = { dataframe_split: { columns: ['text'], data: [['I love this, it works wonderfully'], ['Terrible, awful, it broke']] } };
const IRIS_ROWS = {
  setosa: { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 },
  virginica: { sepal_length: 7.7, sepal_width: 3.0, petal_length: 6.1, petal_width: 2.3 },
};

type Prediction = { label?: string; class?: string };

describe('POST /serving-endpoints/{name}/invocations, through the local stack', () => {
  describe('serves every MLflow scoring format with real predictions', () => {
    it('dataframe_split on the text model', async () => {
      // Act
      const answer = await client.invoke('sentiment', SENTIMENT);
      // Assess
      expect(answer.status).toBe(200);
      const predictions = answer.json.predictions as Prediction[];
      expect(predictions.map((p) => p.label)).toEqual(['positive', 'negative']);
      expect(answer.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      expect(answer.headers.get('x-modelgate-served-entity')).toBe('sentiment-v1');
      expect(answer.headers.get('x-modelgate-overhead-ms')).toMatch(/^\d+\.\d{2}$/);
    });

    it.each([
      ['dataframe_split', { dataframe_split: { columns: Object.keys(IRIS_ROWS.setosa), data: [Object.values(IRIS_ROWS.setosa), Object.values(IRIS_ROWS.virginica)] } }],
      ['dataframe_records', { dataframe_records: [IRIS_ROWS.setosa, IRIS_ROWS.virginica] }],
      ['instances', { instances: [Object.values(IRIS_ROWS.setosa), Object.values(IRIS_ROWS.virginica)] }],
      ['inputs', { inputs: [Object.values(IRIS_ROWS.setosa), Object.values(IRIS_ROWS.virginica)] }],
    ])('%s on the tabular model', async (_format, body) => {
      const answer = await client.invoke('iris', body);
      expect(answer.status).toBe(200);
      expect((answer.json.predictions as Prediction[]).map((p) => p.class)).toEqual(['setosa', 'virginica']);
    });
  });

  describe('records every served request', () => {
    it('writes an audit object under its time partition with who, what, which model, sizes and bodies', async () => {
      // Act
      const answer = await client.invoke('sentiment', SENTIMENT, { headers: { 'user-agent': 'integration-test/1' } });
      const requestId = answer.headers.get('x-request-id')!;
      const audit = await client.auditObject(requestId);
      // Assess
      // Batched: the gzip JSON-lines object (under the request's hour) that holds the record.
      expect(audit?.key).toMatch(/^audit\/v1\/dt=\d{4}-\d{2}-\d{2}\/hour=\d{2}\/[0-9a-f-]{36}_[0-9a-f-]{36}_\d{12}_[0-9a-f]{16}\.jsonl\.gz$/);
      expect(audit?.record).toMatchObject({
        requestId,
        tenant: 'demo',
        keyId: expect.stringMatching(/^key_[0-9a-f]{16}$/),
        endpoint: 'sentiment',
        servedEntity: 'sentiment-v1',
        status: 200,
        client: { ip: '127.0.0.1', userAgent: 'integration-test/1' },
        request: { bytes: JSON.stringify(SENTIMENT).length, body: SENTIMENT },
        response: { bytes: answer.text.length, body: answer.json },
      });
      expect(audit?.record.latencyMs).toBeGreaterThan(0);
      expect(audit?.record.backendLatencyMs).toBeGreaterThan(0);
    });

    it('sends one usage event to the usage queue with the rows scored', async () => {
      // Act
      const answer = await client.invoke('sentiment', SENTIMENT);
      const requestId = answer.headers.get('x-request-id')!;
      // Assess
      const events = await client.usageEvents(requestId);
      expect(events).toEqual([
        expect.objectContaining({
          requestId,
          tenant: 'demo',
          endpoint: 'sentiment',
          servedEntity: 'sentiment-v1',
          status: 200,
          units: { kind: 'rows', input: 2 },
          requestBytes: JSON.stringify(SENTIMENT).length,
          responseBytes: answer.text.length,
        }),
      ]);
    });
  });

  describe('refuses bad requests with the right status and a JSON error, and audits them', () => {
    afterEach(async () => {
      await client.setFault('faulty-v1', undefined);
    });

    async function expectRefusal(answer: Awaited<ReturnType<typeof client.invoke>>, status: number, code: string, message?: RegExp) {
      expect(answer.status).toBe(status);
      const error = answer.json.error as { code: string; message: string; request_id: string };
      expect(error.code).toBe(code);
      if (message) expect(error.message).toMatch(message);
      expect(error.request_id).toBe(answer.headers.get('x-request-id'));
      expect(answer.headers.get('content-type')).toBe('application/json');
      // Nothing internal leaks: no stack traces, AWS error text or ARNs.
      expect(answer.text).not.toMatch(/arn:aws|at .*\.ts:\d+|Exception|\$metadata/);
      const audit = await client.auditObject(error.request_id);
      expect(audit?.record).toMatchObject({ status, errorCode: code });
      const usage = await client.usageEvents(error.request_id);
      expect(usage).toEqual([expect.objectContaining({ status })]);
      return error;
    }

    it('malformed JSON → 400', async () => {
      await expectRefusal(await client.invoke('sentiment', undefined, { raw: '{"inputs": ["x"' }), 400, 'INVALID_REQUEST', /not valid JSON/);
    });

    it('a field of the wrong type → 400 naming the field', async () => {
      await expectRefusal(await client.invoke('iris', { dataframe_split: { columns: 'sepal_length', data: [[1]] } }), 400, 'INVALID_REQUEST', /dataframe_split\.columns/);
    });

    it('more than one input format → 400 naming them', async () => {
      await expectRefusal(await client.invoke('iris', { instances: [[1, 2, 3, 4]], inputs: [[1, 2, 3, 4]] }), 400, 'INVALID_REQUEST', /got instances and inputs/);
    });

    it('an unknown endpoint → 404', async () => {
      await expectRefusal(await client.invoke('no-such-model', SENTIMENT), 404, 'NOT_FOUND', /no-such-model/);
    });

    it('a missing key → 401', async () => {
      await expectRefusal(await client.invoke('sentiment', SENTIMENT, { key: null }), 401, 'UNAUTHENTICATED', /Missing Authorization/);
    });

    it('a wrong key → 401', async () => {
      await expectRefusal(await client.invoke('sentiment', SENTIMENT, { key: `mgk_${'x'.repeat(43)}` }), 401, 'UNAUTHENTICATED', /Invalid API key/);
    });

    it('a key not granted the endpoint → 403, audited against its tenant', async () => {
      // Prepare
      const { apiKey } = await client.createKey({ tenant: 'acme', endpoints: ['iris'] });
      // Act
      const answer = await client.invoke('sentiment', SENTIMENT, { key: apiKey });
      // Assess
      const error = await expectRefusal(answer, 403, 'PERMISSION_DENIED', /not granted endpoint sentiment/);
      expect((await client.auditObject(error.request_id))?.record.tenant).toBe('acme');
      expect((await client.invoke('iris', { instances: [Object.values(IRIS_ROWS.setosa)] }, { key: apiKey })).status).toBe(200);
    });

    it('a revoked key → 403', async () => {
      const { apiKey } = await client.createKey({ tenant: 'acme', endpoints: ['*'], status: 'revoked' });
      await expectRefusal(await client.invoke('sentiment', SENTIMENT, { key: apiKey }), 403, 'PERMISSION_DENIED', /revoked/);
    });

    it('a body over the endpoint\'s limit → 413', async () => {
      const big = { inputs: Array.from({ length: 40 }, (_, i) => `sentence number ${i}`) };
      await expectRefusal(await client.invoke('small', big), 413, 'PAYLOAD_TOO_LARGE', /accepts at most 200/);
    });

    it('the model rejecting the input (its own 400) → 400 with the model\'s reason', async () => {
      await expectRefusal(await client.invoke('iris', { instances: [[5.1, 3.5, 1.4]] }), 400, 'MODEL_REJECTED_INPUT', /expects 4/);
    });

    it('the model failing (its own 500) → 502', async () => {
      await client.setFault('faulty-v1', { kind: 'model-error', originalStatus: 500, message: 'CUDA out of memory at /opt/ml/model' });
      const error = await expectRefusal(await client.invoke('faulty', SENTIMENT), 502, 'MODEL_ERROR');
      expect(error.message).not.toContain('CUDA');
    });

    it('backend throttling → 503 with retry-after', async () => {
      await client.setFault('faulty-v1', { kind: 'throttle' });
      const answer = await client.invoke('faulty', SENTIMENT);
      await expectRefusal(answer, 503, 'BACKEND_THROTTLED');
      expect(answer.headers.get('retry-after')).toBe('1');
    });

    it('a model that is not ready → 503 with retry-after', async () => {
      await client.setFault('faulty-v1', { kind: 'not-ready' });
      await expectRefusal(await client.invoke('faulty', SENTIMENT), 503, 'BACKEND_THROTTLED');
    });

    it('the backend down → 503', async () => {
      await client.setFault('faulty-v1', { kind: 'unavailable' });
      await expectRefusal(await client.invoke('faulty', SENTIMENT), 503, 'BACKEND_UNAVAILABLE');
    });

    it('a served entity SageMaker does not know → 502, not the caller\'s fault', async () => {
      await expectRefusal(await client.invoke('ghost', SENTIMENT), 502, 'BACKEND_REFUSED');
    });

    it('a backend slower than the endpoint\'s timeout → 504, answered at the deadline', async () => {
      // Prepare: the endpoint allows 400 ms; the model takes 3 s.
      await client.setFault('faulty-v1', { kind: 'delay', ms: 3_000 });
      // Act
      const started = performance.now();
      const answer = await client.invoke('faulty', SENTIMENT);
      const elapsed = performance.now() - started;
      // Assess
      await expectRefusal(answer, 504, 'BACKEND_TIMEOUT');
      expect(elapsed).toBeGreaterThanOrEqual(390);
      expect(elapsed).toBeLessThan(2_500);
    });
  });

  it('answers unknown paths with a JSON 404', async () => {
    const response = await fetch(`${client.stack.apiUrl}/no/such/path`);
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
  });

  it("answers a body over API Gateway's 10 MB with its 413 in our shape, before any function runs", async () => {
    const response = await fetch(`${client.stack.apiUrl}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'x'.repeat(10 * 1024 * 1024 + 1) });
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE', message: "Request body exceeds API Gateway's 10 MB limit", request_id: expect.any(String) } });
  });

  it("answers the root, which no route serves, with the same JSON 404 (API Gateway's own answer, as serverless.yml shapes it)", async () => {
    const response = await fetch(`${client.stack.apiUrl}/`);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: { code: 'NOT_FOUND', message: 'No route for this method and path', request_id: expect.any(String) } });
  });
});
