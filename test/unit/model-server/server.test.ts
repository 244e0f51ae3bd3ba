import {
  InvokeEndpointCommand,
  ModelError,
  ModelNotReadyException,
  SageMakerRuntimeClient,
  SageMakerRuntimeServiceException,
  ServiceUnavailable,
  ValidationError,
  type InvokeEndpointCommandInput,
} from '@aws-sdk/client-sagemaker-runtime';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startModelServer, type ModelServer } from '../../../local/model-server/server';

let server: ModelServer;
let client: SageMakerRuntimeClient;

beforeAll(async () => {
  server = await startModelServer({ port: 0 });
  client = new SageMakerRuntimeClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    endpoint: server.url,
    maxAttempts: 1,
  });
});

afterEach(() => {
  for (const endpoint of Object.keys(server.endpoints)) server.setFault(endpoint, undefined);
});

afterAll(async () => {
  client.destroy();
  await server.close();
});

function invocation(endpoint: string, payload: unknown, extra: Partial<InvokeEndpointCommandInput> = {}): InvokeEndpointCommand {
  return new InvokeEndpointCommand({
    EndpointName: endpoint,
    ContentType: 'application/json',
    Body: new TextEncoder().encode(JSON.stringify(payload)),
    ...extra,
  });
}

/** Sends a command that must fail and returns what the SDK threw. */
async function failure(command: InvokeEndpointCommand): Promise<SageMakerRuntimeServiceException> {
  try {
    await client.send(command);
  } catch (error) {
    if (error instanceof SageMakerRuntimeServiceException) return error;
    throw error;
  }
  throw new Error('the invocation succeeded but was expected to fail');
}

const irisRow = { inputs: [[5.1, 3.5, 1.4, 0.2]] };

describe('model server, through the SageMaker Runtime SDK', () => {
  it('answers InvokeEndpoint with the model predictions, JSON content type and the AllTraffic variant', async () => {
    // Act
    const output = await client.send(invocation('sentiment-v1', { inputs: ['I love this, wonderful'] }));

    // Assess
    expect(output.$metadata.httpStatusCode).toBe(200);
    expect(output.ContentType).toBe('application/json');
    expect(output.InvokedProductionVariant).toBe('AllTraffic');
    expect(JSON.parse(new TextDecoder().decode(output.Body))).toMatchObject({ predictions: [{ label: 'positive' }] });
  });

  it('reports the target variant the caller asked for', async () => {
    // Act
    const output = await client.send(invocation('iris-v1', irisRow, { TargetVariant: 'blue' }));

    // Assess
    expect(output.InvokedProductionVariant).toBe('blue');
  });

  it("surfaces the model's own 400 as a ModelError (424) carrying OriginalStatusCode and the model's message", async () => {
    // Prepare
    const withoutPetalWidth = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4 };

    // Act
    const error = await failure(invocation('iris-v1', { dataframe_records: [withoutPetalWidth] }));

    // Assess
    expect(error).toBeInstanceOf(ModelError);
    expect(error.name).toBe('ModelError');
    expect(error.$metadata.httpStatusCode).toBe(424);
    expect(error).toMatchObject({
      OriginalStatusCode: 400,
      OriginalMessage: expect.stringContaining("missing inputs ['petal_width']"),
      LogStreamArn: 'arn:aws:logs:us-east-1:000000000000:log-group:/aws/sagemaker/Endpoints/iris-v1',
    });
    expect(error.message).toMatch(/^Received client error \(400\) from primary with message ".*petal_width.*"\. See https:\/\//);
    expect(error.message).toMatch(/ in account 000000000000 for more information\.$/);
  });

  it('surfaces an empty input as a ModelError with OriginalStatusCode 400', async () => {
    // Act
    const error = await failure(invocation('sentiment-v1', { inputs: [] }));

    // Assess
    expect(error).toMatchObject({
      name: 'ModelError',
      OriginalStatusCode: 400,
      OriginalMessage: expect.stringContaining('no rows'),
    });
  });

  it('surfaces a non-JSON content type as a ModelError with OriginalStatusCode 415', async () => {
    // Act
    const error = await failure(invocation('iris-v1', irisRow, { ContentType: 'text/csv' }));

    // Assess
    expect(error).toMatchObject({ name: 'ModelError', OriginalStatusCode: 415 });
  });

  it('surfaces a model crash as a ModelError with OriginalStatusCode 500 and a server-error message', async () => {
    // Prepare
    server.setFault('iris-v1', { kind: 'model-error', originalStatus: 500, message: 'CUDA out of memory' });

    // Act
    const error = await failure(invocation('iris-v1', irisRow));

    // Assess
    expect(error).toBeInstanceOf(ModelError);
    expect(error.$metadata.httpStatusCode).toBe(424);
    expect(error).toMatchObject({ OriginalStatusCode: 500, OriginalMessage: 'CUDA out of memory' });
    expect(error.message).toContain('Received server error (500) from primary with message "CUDA out of memory"');
  });

  it('surfaces a throttle as ThrottlingException with status 400 and "Rate exceeded"', async () => {
    // Prepare
    server.setFault('iris-v1', { kind: 'throttle' });

    // Act
    const error = await failure(invocation('iris-v1', irisRow));

    // Assess
    expect(error.name).toBe('ThrottlingException');
    expect(error.$metadata.httpStatusCode).toBe(400);
    expect(error.message).toBe('Rate exceeded');
  });

  it('surfaces a loading model as ModelNotReadyException with status 429', async () => {
    // Prepare
    server.setFault('iris-v1', { kind: 'not-ready' });

    // Act
    const error = await failure(invocation('iris-v1', irisRow));

    // Assess
    expect(error).toBeInstanceOf(ModelNotReadyException);
    expect(error.name).toBe('ModelNotReadyException');
    expect(error.$metadata.httpStatusCode).toBe(429);
  });

  it('surfaces an outage as ServiceUnavailable with status 503', async () => {
    // Prepare
    server.setFault('iris-v1', { kind: 'unavailable' });

    // Act
    const error = await failure(invocation('iris-v1', irisRow));

    // Assess
    expect(error).toBeInstanceOf(ServiceUnavailable);
    expect(error.name).toBe('ServiceUnavailable');
    expect(error.$metadata.httpStatusCode).toBe(503);
    expect(error.$fault).toBe('server');
  });

  it('surfaces an unknown endpoint as ValidationError (400) naming the endpoint and account', async () => {
    // Act
    const error = await failure(invocation('no-such-endpoint', irisRow));

    // Assess
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.$metadata.httpStatusCode).toBe(400);
    expect(error.message).toBe('Endpoint no-such-endpoint of account 000000000000 not found.');
  });

  it('surfaces a body over 6 MB as ValidationError (400) and does not count it as an invocation', async () => {
    // Prepare
    const before = server.invocationCount('sentiment-v1');
    const oversized = { inputs: ['x'.repeat(6 * 1024 * 1024)] };

    // Act
    const error = await failure(invocation('sentiment-v1', oversized));

    // Assess
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.$metadata.httpStatusCode).toBe(400);
    expect(error.message).toMatch(/exceeds the maximum InvokeEndpoint payload size of 6291456 bytes/);
    expect(server.invocationCount('sentiment-v1')).toBe(before);
  });

  it('waits out a delay fault, then answers normally', async () => {
    // Prepare
    server.setFault('sentiment-v1', { kind: 'delay', ms: 120 });
    const started = performance.now();

    // Act
    const output = await client.send(invocation('sentiment-v1', { inputs: ['terrible, awful, broken'] }));

    // Assess
    expect(performance.now() - started).toBeGreaterThanOrEqual(110);
    expect(JSON.parse(new TextDecoder().decode(output.Body))).toMatchObject({ predictions: [{ label: 'negative' }] });
  });

  it("lets a delay longer than the caller's deadline abort the call, and keeps serving afterwards", async () => {
    // Prepare
    server.setFault('sentiment-v1', { kind: 'delay', ms: 1_000 });
    const deadline = { abortSignal: AbortSignal.timeout(50) };

    // Act
    const aborted = client.send(invocation('sentiment-v1', { inputs: ['fine'] }), deadline);

    // Assess
    await expect(aborted).rejects.toMatchObject({ name: expect.stringMatching(/Abort|Timeout/) });
    server.setFault('sentiment-v1', undefined);
    const output = await client.send(invocation('sentiment-v1', { inputs: ['fine'] }));
    expect(output.$metadata.httpStatusCode).toBe(200);
  });

  it('counts every invocation an endpoint receives, faulted ones included', async () => {
    // Prepare
    const before = server.invocationCount('iris-v1');
    await client.send(invocation('iris-v1', irisRow));
    server.setFault('iris-v1', { kind: 'throttle' });

    // Act
    await failure(invocation('iris-v1', irisRow));

    // Assess
    expect(server.invocationCount('iris-v1')).toBe(before + 2);
  });
});

describe('model server, over its own HTTP routes', () => {
  it('answers GET /ping with 200', async () => {
    // Act
    const response = await fetch(`${server.url}/ping`);

    // Assess
    expect(response.status).toBe(200);
  });

  it('applies a fault set with PUT /_faults/{endpoint} until DELETE clears it', async () => {
    // Prepare
    const put = await fetch(`${server.url}/_faults/iris-v1`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'not-ready' }),
    });

    // Act
    const whileFaulted = await failure(invocation('iris-v1', irisRow));
    const deleted = await fetch(`${server.url}/_faults/iris-v1`, { method: 'DELETE' });
    const afterClearing = await client.send(invocation('iris-v1', irisRow));

    // Assess
    expect(put.status).toBe(200);
    expect(whileFaulted.name).toBe('ModelNotReadyException');
    expect(deleted.status).toBe(204);
    expect(afterClearing.$metadata.httpStatusCode).toBe(200);
  });

  it('refuses an invalid fault with 400 and leaves the endpoint healthy', async () => {
    // Act
    const response = await fetch(`${server.url}/_faults/iris-v1`, { method: 'PUT', body: JSON.stringify({ kind: 'delay', ms: -5 }) });
    const output = await client.send(invocation('iris-v1', irisRow));

    // Assess
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ message: expect.stringContaining('ms') });
    expect(output.$metadata.httpStatusCode).toBe(200);
  });

  it('refuses a fault for an unknown endpoint with 404', async () => {
    // Act
    const response = await fetch(`${server.url}/_faults/nope`, { method: 'PUT', body: JSON.stringify({ kind: 'throttle' }) });

    // Assess
    expect(response.status).toBe(404);
  });

  it('reports invocation counts per endpoint on GET /_stats', async () => {
    // Prepare
    await client.send(invocation('sentiment-v1', { inputs: ['good'] }));

    // Act
    const stats = (await (await fetch(`${server.url}/_stats`)).json()) as { invocations: Record<string, number> };

    // Assess
    expect(Object.keys(stats.invocations).sort()).toEqual(['chat-llm-v1', 'completions-llm-v1', 'embed-llm-v1', 'iris-v1', 'sentiment-v1']);
    expect(stats.invocations['sentiment-v1']).toBe(server.invocationCount('sentiment-v1'));
    expect(stats.invocations['sentiment-v1']).toBeGreaterThan(0);
  });
});

describe('startModelServer', () => {
  it('rejects with an error naming the port when the port is already in use', async () => {
    // Prepare
    const busyPort = server.port;

    // Act
    const starting = startModelServer({ port: busyPort });

    // Assess
    await expect(starting).rejects.toThrow(`port ${busyPort} on 127.0.0.1 is already in use (model server)`);
  });

  it('hosts the endpoints it is given, and only those', async () => {
    // Prepare
    const custom = await startModelServer({ endpoints: { 'flowers-prod': 'iris' } });
    const customClient = new SageMakerRuntimeClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      endpoint: custom.url,
      maxAttempts: 1,
    });

    try {
      // Act
      const output = await customClient.send(invocation('flowers-prod', irisRow));
      const missing = customClient.send(invocation('iris-v1', irisRow));

      // Assess
      expect(JSON.parse(new TextDecoder().decode(output.Body))).toMatchObject({ predictions: [{ class: 'setosa' }] });
      await expect(missing).rejects.toMatchObject({ name: 'ValidationError' });
    } finally {
      customClient.destroy();
      await custom.close();
    }
  });

  it('closes promptly even while a delayed invocation is pending', async () => {
    // Prepare
    const delayed = await startModelServer();
    delayed.setFault('iris-v1', { kind: 'delay', ms: 10_000 });
    const pending = fetch(`${delayed.url}/endpoints/iris-v1/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(irisRow),
    }).catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = performance.now();

    // Act
    await delayed.close();

    // Assess
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(await pending).toBeInstanceOf(Error);
  });
});
