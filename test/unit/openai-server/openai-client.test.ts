import OpenAI, { APIConnectionError, AuthenticationError, BadRequestError, RateLimitError } from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAiServer, type OpenAiServer } from '../../../local/openai-server/server';

// The official client is the judge of whether the local server's shapes are OpenAI's.
const apiKey = 'sk-local-client-test';
let server: OpenAiServer;
let client: OpenAI;

beforeAll(async () => {
  server = await startOpenAiServer({ apiKey });
  client = new OpenAI({ apiKey, baseURL: `${server.url}/v1`, maxRetries: 0, timeout: 5_000 });
});

afterEach(() => {
  for (const model of Object.keys(server.models)) server.setFault(model, undefined);
});

afterAll(async () => {
  await server.close();
});

const messages = [{ role: 'user' as const, content: 'Hello there' }];

describe('the official openai client against the local OpenAI server', () => {
  it('creates a chat completion', async () => {
    // Act
    const completion = await client.chat.completions.create({ model: 'toy-gpt', messages });

    // Assess
    expect(completion.choices[0]?.message.content).toBe('You said: Hello there');
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    expect(completion.usage).toMatchObject({ prompt_tokens: 6, completion_tokens: 5, total_tokens: 11 });
  });

  it('streams a chat completion and receives the usage chunk it asked for', async () => {
    // Act
    const stream = await client.chat.completions.create({ model: 'toy-gpt', messages, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }

    // Assess
    expect(text).toBe('You said: Hello there');
    expect(usage).toMatchObject({ prompt_tokens: 6, completion_tokens: 5, total_tokens: 11 });
  });

  it('runs the chat stream helper to its final message', async () => {
    // Act
    const runner = client.chat.completions.stream({ model: 'toy-gpt', messages });
    const final = await runner.finalChatCompletion();

    // Assess
    expect(final.choices[0]?.message.content).toBe('You said: Hello there');
  });

  it('creates and streams a legacy completion', async () => {
    // Act
    const completion = await client.completions.create({ model: 'toy-gpt', prompt: 'Say hi' });
    const stream = await client.completions.create({ model: 'toy-gpt', prompt: 'Say hi', stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';

    // Assess
    expect(completion.choices[0]?.text).toBe('You said: Say hi');
    expect(text).toBe('You said: Say hi');
  });

  it('creates embeddings with its default base64 transfer, and with floats when asked', async () => {
    // Act
    const viaBase64 = await client.embeddings.create({ model: 'toy-embedding', input: ['alpha', 'beta'], dimensions: 16 });
    const viaFloats = await client.embeddings.create({ model: 'toy-embedding', input: ['alpha', 'beta'], dimensions: 16, encoding_format: 'float' });

    // Assess
    expect(viaBase64.data).toHaveLength(2);
    expect(Array.from(viaBase64.data[0]?.embedding ?? [])).toEqual(viaFloats.data[0]?.embedding);
    expect(viaFloats.data[1]?.embedding).toHaveLength(16);
    expect(viaFloats.usage).toEqual({ prompt_tokens: 2, total_tokens: 2 });
  });

  it('lists the models', async () => {
    // Act
    const ids = [];
    for await (const model of client.models.list()) ids.push(model.id);

    // Assess
    expect(ids).toEqual(['toy-gpt', 'toy-gpt-no-usage', 'toy-embedding']);
  });

  it("maps the server's errors to the client's error classes", async () => {
    // Prepare
    const wrongKey = new OpenAI({ apiKey: 'sk-wrong', baseURL: `${server.url}/v1`, maxRetries: 0 });
    server.setFault('toy-gpt', { kind: 'throttle', times: 1 });

    // Act
    const throttled = client.chat.completions.create({ model: 'toy-gpt', messages });
    const refused = client.chat.completions.create({ model: 'toy-gpt', messages: [] });
    const unauthorised = wrongKey.chat.completions.create({ model: 'toy-gpt', messages });

    // Assess
    await expect(throttled).rejects.toBeInstanceOf(RateLimitError);
    await expect(refused).rejects.toBeInstanceOf(BadRequestError);
    await expect(unauthorised).rejects.toBeInstanceOf(AuthenticationError);
  });

  it('reassembles a stream written a few bytes at a time', async () => {
    // Prepare
    server.setFault('toy-gpt', { kind: 'fragmented-stream', bytes: 3 });

    // Act
    const final = await client.chat.completions.stream({ model: 'toy-gpt', messages }).finalChatCompletion();

    // Assess
    expect(final.choices[0]?.message.content).toBe('You said: Hello there');
  });

  it('fails the iteration, not quietly, when the stream is cut', async () => {
    // Prepare
    server.setFault('toy-gpt', { kind: 'stream-cut', afterChunks: 2 });
    const stream = await client.chat.completions.create({ model: 'toy-gpt', messages, stream: true });
    const received: string[] = [];

    // Act
    const iterating = (async () => {
      for await (const chunk of stream) received.push(chunk.choices[0]?.delta.content ?? '');
    })();

    // Assess
    await expect(iterating).rejects.toThrow();
    expect(received).toHaveLength(2);
  });

  it('surfaces an in-stream error event as an APIError', async () => {
    // Prepare
    server.setFault('toy-gpt', { kind: 'stream-error', afterChunks: 2 });
    const stream = await client.chat.completions.create({ model: 'toy-gpt', messages, stream: true });

    // Act
    const iterating = (async () => {
      for await (const chunk of stream) void chunk;
    })();

    // Assess
    await expect(iterating).rejects.toMatchObject({ message: expect.stringContaining('The server had an error') });
    await expect(iterating).rejects.not.toBeInstanceOf(APIConnectionError);
  });
});
