import {
  InternalStreamFailure,
  InvokeEndpointCommand,
  InvokeEndpointWithResponseStreamCommand,
  ModelError,
  ModelStreamError,
  SageMakerRuntimeClient,
  type InvokeEndpointWithResponseStreamCommandOutput,
} from '@aws-sdk/client-sagemaker-runtime';
import type OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startModelServer, type ModelServer } from '../../../local/model-server/server';
import { parseSse } from '../server-sent-events';

let server: ModelServer;
let client: SageMakerRuntimeClient;

beforeAll(async () => {
  server = await startModelServer({
    endpoints: {
      'chat-llm-v1': 'toy-llm',
      'completions-llm-v1': 'toy-llm',
      'embed-llm-v1': 'toy-embedder',
      'quiet-llm-v1': 'toy-llm-no-usage',
      'iris-v1': 'iris',
    },
  });
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

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const chat = { model: 'anything', messages: [{ role: 'user', content: 'Hello there' }] };
const helloUsage = { prompt_tokens: 6, completion_tokens: 5, total_tokens: 11 };

function invoke(endpoint: string, payload: unknown) {
  return client.send(new InvokeEndpointCommand({ EndpointName: endpoint, ContentType: 'application/json', Body: encoder.encode(JSON.stringify(payload)) }));
}

function invokeStream(endpoint: string, payload: unknown, variant?: string) {
  return client.send(
    new InvokeEndpointWithResponseStreamCommand({
      EndpointName: endpoint,
      ContentType: 'application/json',
      Body: encoder.encode(JSON.stringify(payload)),
      ...(variant ? { TargetVariant: variant } : {}),
    }),
  );
}

/** Iterates a response stream as the SDK decodes it: the PayloadPart bytes, and the error that ended it, if any. */
async function drain(output: InvokeEndpointWithResponseStreamCommandOutput): Promise<{ parts: string[]; error: unknown }> {
  const parts: string[] = [];
  try {
    for await (const event of output.Body ?? []) {
      if (event.PayloadPart?.Bytes) parts.push(decoder.decode(event.PayloadPart.Bytes));
    }
    return { parts, error: undefined };
  } catch (error) {
    return { parts, error };
  }
}

function json<T>(bytes: Uint8Array | undefined): T {
  return JSON.parse(decoder.decode(bytes)) as T;
}

describe('model server LLM endpoints, InvokeEndpoint', () => {
  it('answers an OpenAI chat body with an OpenAI chat.completion, usage included', async () => {
    // Act
    const output = await invoke('chat-llm-v1', chat);

    // Assess
    expect(output.ContentType).toBe('application/json');
    expect(json<OpenAI.ChatCompletion>(output.Body)).toMatchObject({
      object: 'chat.completion',
      model: 'toy-llm',
      choices: [{ message: { role: 'assistant', content: 'You said: Hello there' }, finish_reason: 'stop' }],
      usage: helloUsage,
    });
  });

  it('answers a completions body and an embeddings body in their OpenAI shapes', async () => {
    // Act
    const completion = json<OpenAI.Completion>((await invoke('completions-llm-v1', { prompt: 'Say hi', max_tokens: 3 })).Body);
    const embeddings = json<OpenAI.CreateEmbeddingResponse>((await invoke('embed-llm-v1', { input: ['a b', 'c'], dimensions: 32 })).Body);

    // Assess
    expect(completion).toMatchObject({ object: 'text_completion', choices: [{ text: 'You said:', finish_reason: 'length' }], usage: { completion_tokens: 3 } });
    expect(embeddings).toMatchObject({ object: 'list', model: 'toy-embedder', usage: { prompt_tokens: 3, total_tokens: 3 } });
    expect(embeddings.data.map((item) => item.embedding.length)).toEqual([32, 32]);
  });

  it('omits usage on an endpoint whose container reports none', async () => {
    // Act
    const completion = json<OpenAI.ChatCompletion>((await invoke('quiet-llm-v1', chat)).Body);

    // Assess
    expect(completion.choices[0]?.message.content).toBe('You said: Hello there');
    expect(completion).not.toHaveProperty('usage');
  });

  it("relays the container's OpenAI-shaped 400 as a ModelError with OriginalStatusCode 400", async () => {
    // Act
    const invalid = await invoke('chat-llm-v1', { messages: [] }).catch((caught: unknown) => caught);
    const unservable = await invoke('embed-llm-v1', chat).catch((caught: unknown) => caught);

    // Assess
    expect(invalid).toBeInstanceOf(ModelError);
    expect(invalid).toMatchObject({ OriginalStatusCode: 400, $metadata: { httpStatusCode: 424 } });
    expect(JSON.parse((invalid as ModelError).OriginalMessage ?? '')).toMatchObject({ error: { type: 'invalid_request_error', param: 'messages' } });
    expect(unservable).toMatchObject({ name: 'ModelError', OriginalStatusCode: 400 });
  });

  it('returns the whole SSE output, buffered, when a stream is asked of InvokeEndpoint', async () => {
    // Act
    const output = await invoke('chat-llm-v1', { ...chat, stream: true });

    // Assess
    expect(output.ContentType).toBe('text/event-stream');
    const data = parseSse(decoder.decode(output.Body)).map((event) => event.data);
    expect(data.at(-1)).toBe('[DONE]');
    expect(data.slice(0, -1).map((line) => (JSON.parse(line) as OpenAI.ChatCompletionChunk).choices[0]?.delta.content ?? '').join('')).toBe(
      'You said: Hello there',
    );
  });

  it('answers 200 with a body that is not JSON under fault malformed', async () => {
    // Prepare
    server.setFault('chat-llm-v1', { kind: 'malformed' });

    // Act
    const output = await invoke('chat-llm-v1', chat);

    // Assess
    expect(output.$metadata.httpStatusCode).toBe(200);
    expect(() => json(output.Body)).toThrow(SyntaxError);
  });
});

describe('model server LLM endpoints, InvokeEndpointWithResponseStream decoded by the SDK', () => {
  it('streams SSE chunks as PayloadPart events that join to the same answer and usage as the unstreamed call', async () => {
    // Act
    const output = await invokeStream('chat-llm-v1', { ...chat, stream: true, stream_options: { include_usage: true } }, 'blue');
    const { parts, error } = await drain(output);

    // Assess
    expect(error).toBeUndefined();
    expect(output.ContentType).toBe('text/event-stream');
    expect(output.InvokedProductionVariant).toBe('blue');
    expect(parts.every((part) => part.startsWith('data: ') && part.endsWith('\n\n'))).toBe(true);
    expect(parts.at(-1)).toBe('data: [DONE]\n\n');
    const chunks = parts.slice(0, -1).map((part) => JSON.parse(part.slice('data: '.length)) as OpenAI.ChatCompletionChunk);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe('You said: Hello there');
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: helloUsage });
  });

  it('streams a completion the same way', async () => {
    // Act
    const { parts } = await drain(await invokeStream('completions-llm-v1', { prompt: 'Say hi', stream: true }));

    // Assess
    const chunks = parts.slice(0, -1).map((part) => JSON.parse(part.slice('data: '.length)) as OpenAI.Completion);
    expect(chunks.map((chunk) => chunk.choices[0]?.text ?? '').join('')).toBe('You said: Say hi');
  });

  it("sends a body that asks for no stream, or a classic model's answer, as one PayloadPart", async () => {
    // Act
    const llm = await drain(await invokeStream('chat-llm-v1', chat));
    const classic = await drain(await invokeStream('iris-v1', { inputs: [[5.1, 3.5, 1.4, 0.2]] }));

    // Assess
    expect(llm.parts).toHaveLength(1);
    expect(JSON.parse(llm.parts[0] ?? '')).toMatchObject({ object: 'chat.completion', usage: helloUsage });
    expect(classic.parts).toHaveLength(1);
    expect(JSON.parse(classic.parts[0] ?? '')).toMatchObject({ predictions: [{ class: 'setosa' }] });
  });

  it('ends the stream with a ModelStreamError event that the SDK throws, after the parts sent before it', async () => {
    // Prepare
    server.setFault('chat-llm-v1', { kind: 'stream-error', afterChunks: 2 });

    // Act
    const { parts, error } = await drain(await invokeStream('chat-llm-v1', { ...chat, stream: true }));

    // Assess
    expect(parts).toHaveLength(2);
    expect(error).toBeInstanceOf(ModelStreamError);
    expect(error).toMatchObject({ Message: 'Your model stream has been interrupted.', ErrorCode: 'ModelStreamError' });
  });

  it('ends the stream with an InternalStreamFailure event when asked for that one', async () => {
    // Prepare
    server.setFault('chat-llm-v1', { kind: 'stream-error', afterChunks: 1, exception: 'InternalStreamFailure', message: 'lost it' });

    // Act
    const { parts, error } = await drain(await invokeStream('chat-llm-v1', { ...chat, stream: true }));

    // Assess
    expect(parts).toHaveLength(1);
    expect(error).toBeInstanceOf(InternalStreamFailure);
    expect(error).toMatchObject({ Message: 'lost it' });
  });

  it('drops the connection mid-stream under fault stream-cut: the SDK fails the iteration after the parts sent', async () => {
    // Prepare
    server.setFault('chat-llm-v1', { kind: 'stream-cut', afterChunks: 3 });

    // Act
    const { parts, error } = await drain(await invokeStream('chat-llm-v1', { ...chat, stream: true }));

    // Assess
    expect(parts).toHaveLength(3);
    expect(error).toBeInstanceOf(Error);
  });

  it('splits SSE lines and UTF-8 characters across PayloadParts under fault fragmented-stream, which the bytes survive', async () => {
    // Prepare
    server.setFault('chat-llm-v1', { kind: 'fragmented-stream', bytes: 7 });
    const body = { messages: [{ role: 'user', content: 'Grüße, café ✓' }], stream: true };

    // Act
    const output = await invokeStream('chat-llm-v1', body);
    const parts: Uint8Array[] = [];
    for await (const event of output.Body ?? []) if (event.PayloadPart?.Bytes) parts.push(event.PayloadPart.Bytes);

    // Assess
    expect(parts.length).toBeGreaterThan(8);
    expect(parts.every((part) => part.length <= 7)).toBe(true);
    const data = parseSse(Buffer.concat(parts).toString('utf8')).map((event) => event.data);
    expect(data.at(-1)).toBe('[DONE]');
    const text = data.slice(0, -1).map((line) => (JSON.parse(line) as OpenAI.ChatCompletionChunk).choices[0]?.delta.content ?? '').join('');
    expect(text).toBe('You said: Grüße, café ✓');
  });

  it('refuses before streaming under an error fault, as SageMaker does', async () => {
    // Prepare
    server.setFault('chat-llm-v1', { kind: 'throttle' });

    // Act
    const starting = invokeStream('chat-llm-v1', { ...chat, stream: true });

    // Assess
    await expect(starting).rejects.toMatchObject({ name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });
  });

  it('paces the parts under fault slow-stream, and leaves InvokeEndpoint alone', async () => {
    // Prepare
    server.setFault('chat-llm-v1', { kind: 'slow-stream', intervalMs: 20 });
    const started = performance.now();

    // Act
    const unstreamed = await invoke('chat-llm-v1', chat);
    const unstreamedMs = performance.now() - started;
    const { parts } = await drain(await invokeStream('chat-llm-v1', { ...chat, stream: true }));

    // Assess
    expect(unstreamedMs).toBeLessThan(100);
    expect(unstreamed.$metadata.httpStatusCode).toBe(200);
    // 7 chunks and [DONE]: 7 intervals.
    expect(parts).toHaveLength(8);
    expect(performance.now() - started).toBeGreaterThanOrEqual(7 * 20 - 5);
  });

  it('applies a fault for its number of times only', async () => {
    // Prepare
    server.setFault('chat-llm-v1', { kind: 'unavailable', times: 1 });

    // Act
    const first = await invoke('chat-llm-v1', chat).catch((error: unknown) => error);
    const second = await invoke('chat-llm-v1', chat);

    // Assess
    expect(first).toMatchObject({ name: 'ServiceUnavailable' });
    expect(second.$metadata.httpStatusCode).toBe(200);
  });
});
