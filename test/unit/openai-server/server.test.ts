import type OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAiServer, type OpenAiServer } from '../../../local/openai-server/server';
import { parseSse, readToEnd } from '../server-sent-events';

const apiKey = 'sk-local-test-key-0123';
let server: OpenAiServer;

beforeAll(async () => {
  server = await startOpenAiServer({ apiKey });
});

afterEach(() => {
  for (const model of Object.keys(server.models)) server.setFault(model, undefined);
});

afterAll(async () => {
  await server.close();
});

function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

const hello = { model: 'toy-gpt', messages: [{ role: 'user', content: 'Hello there' }] };
/** "user: Hello there\nassistant:" is 6 toy tokens; "You said: Hello there" is 5. */
const helloUsage = { prompt_tokens: 6, completion_tokens: 5, total_tokens: 11 };

/** A response body, typed as the official client's type for it. */
async function body<T>(response: Response | Promise<Response>): Promise<T> {
  return (await (await response).json()) as T;
}

/** A streamed chunk, chat or completion, loosely: the tests check what each carries. */
type Chunk = Omit<Partial<OpenAI.ChatCompletionChunk>, 'object' | 'choices'> & {
  object?: string;
  choices: Array<Partial<OpenAI.ChatCompletionChunk.Choice> & { text?: string }>;
  error?: unknown;
};

/** The JSON chunks of an OpenAI stream, and whether it ended with `data: [DONE]`. */
function chunksOf(text: string): { chunks: Chunk[]; done: boolean } {
  const data = parseSse(text).map((event) => event.data);
  const done = data.at(-1) === '[DONE]';
  return { chunks: (done ? data.slice(0, -1) : data).map((line) => JSON.parse(line) as Chunk), done };
}

type Stats = { invocations: Record<string, number> };

describe('OpenAI server: chat completions', () => {
  it("answers OpenAI's chat.completion shape with the toy reply and the toy model's token counts", async () => {
    // Act
    const response = await post('/v1/chat/completions', { ...hello, temperature: 0.3 });

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toEqual({
      id: expect.stringMatching(/^chatcmpl-/),
      object: 'chat.completion',
      created: expect.any(Number),
      model: 'toy-gpt',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'You said: Hello there', refusal: null, annotations: [] },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
      usage: expect.objectContaining(helloUsage),
      system_fingerprint: null,
    });
  });

  it('reads text content parts, counts the whole conversation, and caps the answer at max_completion_tokens', async () => {
    // Prepare
    const request = {
      model: 'toy-gpt',
      max_completion_tokens: 3,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: [{ type: 'text', text: 'one two three' }] },
      ],
    };

    // Act
    const completion = await body<OpenAI.ChatCompletion>(post('/v1/chat/completions', request));

    // Assess
    expect(completion.choices[0]).toMatchObject({ message: { content: 'You said:' }, finish_reason: 'length' });
    // "system: Be brief.\nuser: one two three\nassistant:" = 12 tokens.
    expect(completion.usage).toMatchObject({ prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 });
  });

  it('ends the answer before a stop sequence', async () => {
    // Act
    const completion = await body<OpenAI.ChatCompletion>(post('/v1/chat/completions', { ...hello, stop: [' there'] }));

    // Assess
    expect(completion.choices[0]).toMatchObject({ message: { content: 'You said: Hello' }, finish_reason: 'stop' });
    expect(completion.usage?.completion_tokens).toBe(4);
  });

  it('streams chat.completion.chunk events: the role, one chunk per token, the finish reason, then [DONE] — without usage by default', async () => {
    // Act
    const response = await post('/v1/chat/completions', { ...hello, stream: true });
    const { chunks, done } = chunksOf(await response.text());

    // Assess
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(done).toBe(true);
    expect(chunks.every((chunk) => chunk.object === 'chat.completion.chunk' && chunk.id === chunks[0]?.id)).toBe(true);
    expect(chunks[0]?.choices[0]).toEqual({ index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null });
    expect(chunks.map((chunk) => chunk.choices[0]?.delta?.content ?? '').join('')).toBe('You said: Hello there');
    expect(chunks).toHaveLength(1 + 5 + 1);
    expect(chunks.at(-1)?.choices[0]).toMatchObject({ delta: {}, finish_reason: 'stop' });
    expect(chunks.some((chunk) => 'usage' in chunk)).toBe(false);
  });

  it('streams a last chunk with no choices and the same usage as the non-streamed answer when stream_options.include_usage is true', async () => {
    // Act
    const response = await post('/v1/chat/completions', { ...hello, stream: true, stream_options: { include_usage: true } });
    const { chunks, done } = chunksOf(await response.text());

    // Assess
    expect(done).toBe(true);
    expect(chunks.slice(0, -1).every((chunk) => chunk.usage === null)).toBe(true);
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: helloUsage });
  });

  it('refuses stream_options without stream, as OpenAI does', async () => {
    // Act
    const response = await post('/v1/chat/completions', { ...hello, stream_options: { include_usage: true } });

    // Assess
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: {
        message: "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
        type: 'invalid_request_error',
        param: 'stream_options',
        code: 'invalid_value',
      },
    });
  });

  it('answers a missing or invalid parameter with 400 naming it, and an unknown model with 404', async () => {
    // Act
    const missing = await post('/v1/chat/completions', { model: 'toy-gpt' });
    const invalid = await post('/v1/chat/completions', { ...hello, messages: [{ role: 'wizard', content: 'hi' }] });
    const unknown = await post('/v1/chat/completions', { ...hello, model: 'gpt-9' });
    const notJson = await post('/v1/chat/completions', '{"model": ');

    // Assess
    expect(missing.status).toBe(400);
    expect(await missing.json()).toEqual({
      error: { message: "Missing required parameter: 'messages'.", type: 'invalid_request_error', param: 'messages', code: 'missing_required_parameter' },
    });
    expect(invalid.status).toBe(400);
    expect(await invalid.json()).toMatchObject({ error: { type: 'invalid_request_error', param: 'messages[0].role', code: 'invalid_value' } });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: 'model_not_found', message: expect.stringContaining('gpt-9') } });
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toMatchObject({ error: { type: 'invalid_request_error', message: expect.stringContaining('parse the JSON body') } });
  });

  it('refuses to chat with an embedding model', async () => {
    // Act
    const response = await post('/v1/chat/completions', { ...hello, model: 'toy-embedding' });

    // Assess
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { param: 'model', code: 'model_not_supported' } });
  });
});

describe('OpenAI server: completions', () => {
  it("answers OpenAI's text_completion shape, capped at 16 tokens by default as OpenAI's legacy endpoint is", async () => {
    // Prepare
    const prompt = Array.from({ length: 20 }, (_, index) => `w${index}`).join(' ');

    // Act
    const short = await body<OpenAI.Completion>(post('/v1/completions', { model: 'toy-gpt', prompt: 'Say hi' }));
    const long = await body<OpenAI.Completion>(post('/v1/completions', { model: 'toy-gpt', prompt }));

    // Assess
    expect(short).toEqual({
      id: expect.stringMatching(/^cmpl-/),
      object: 'text_completion',
      created: expect.any(Number),
      model: 'toy-gpt',
      choices: [{ text: 'You said: Say hi', index: 0, logprobs: null, finish_reason: 'stop' }],
      usage: expect.objectContaining({ prompt_tokens: 2, completion_tokens: 5, total_tokens: 7 }),
      system_fingerprint: null,
    });
    expect(long.choices[0]?.finish_reason).toBe('length');
    expect(long.usage?.completion_tokens).toBe(16);
  });

  it('streams text_completion chunks ending with the finish reason, the usage chunk when asked, then [DONE]', async () => {
    // Act
    const response = await post('/v1/completions', { model: 'toy-gpt', prompt: ['Say hi'], stream: true, stream_options: { include_usage: true } });
    const { chunks, done } = chunksOf(await response.text());

    // Assess
    expect(done).toBe(true);
    expect(chunks.every((chunk) => chunk.object === 'text_completion')).toBe(true);
    expect(chunks.map((chunk) => chunk.choices[0]?.text ?? '').join('')).toBe('You said: Say hi');
    expect(chunks.at(-2)?.choices[0]).toMatchObject({ text: '', finish_reason: 'stop' });
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 2, completion_tokens: 5, total_tokens: 7 } });
  });

  it('refuses a batch of prompts, which the toy model does not serve', async () => {
    // Act
    const response = await post('/v1/completions', { model: 'toy-gpt', prompt: ['a', 'b'] });

    // Assess
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { param: 'prompt' } });
  });
});

describe('OpenAI server: embeddings', () => {
  it("answers OpenAI's embeddings list: one normalised vector per input, in order, with prompt tokens", async () => {
    // Act
    const embeddings = await body<OpenAI.CreateEmbeddingResponse>(post('/v1/embeddings', { model: 'toy-embedding', input: ['first text', 'second, longer text'] }));

    // Assess
    expect(embeddings).toMatchObject({ object: 'list', model: 'toy-embedding', usage: { prompt_tokens: 6, total_tokens: 6 } });
    expect(embeddings.data.map((item) => [item.object, item.index])).toEqual([
      ['embedding', 0],
      ['embedding', 1],
    ]);
    for (const { embedding } of embeddings.data) {
      expect(embedding).toHaveLength(256);
      expect(Math.hypot(...embedding)).toBeCloseTo(1, 5);
    }
  });

  it('honours dimensions, and encodes base64 as the same little-endian float32 values', async () => {
    // Act
    const floats = await body<OpenAI.CreateEmbeddingResponse>(post('/v1/embeddings', { model: 'toy-embedding', input: 'hello', dimensions: 8 }));
    const base64 = await body<{ data: Array<{ embedding: string }> }>(
      post('/v1/embeddings', { model: 'toy-embedding', input: 'hello', dimensions: 8, encoding_format: 'base64' }),
    );

    // Assess
    const bytes = Buffer.from(base64.data[0]?.embedding ?? '', 'base64');
    const decoded = [...new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4)];
    expect(floats.data[0]?.embedding).toHaveLength(8);
    expect(decoded).toEqual(floats.data[0]?.embedding);
  });

  it('refuses an empty input and more dimensions than the model has', async () => {
    // Act
    const empty = await post('/v1/embeddings', { model: 'toy-embedding', input: '' });
    const tooWide = await post('/v1/embeddings', { model: 'toy-embedding', input: 'x', dimensions: 4096 });

    // Assess
    expect(empty.status).toBe(400);
    expect(await empty.json()).toMatchObject({ error: { message: expect.stringContaining("'$.input' is invalid") } });
    expect(tooWide.status).toBe(400);
    expect(await tooWide.json()).toMatchObject({ error: { param: 'dimensions' } });
  });
});

describe('OpenAI server: a model that reports no usage', () => {
  it('omits usage from answers, and sends no usage chunk even when asked', async () => {
    // Act
    const completion = await body<OpenAI.ChatCompletion>(post('/v1/chat/completions', { ...hello, model: 'toy-gpt-no-usage' }));
    const streamed = await post('/v1/chat/completions', { ...hello, model: 'toy-gpt-no-usage', stream: true, stream_options: { include_usage: true } });
    const { chunks, done } = chunksOf(await streamed.text());

    // Assess
    expect(completion.choices[0]?.message.content).toBe('You said: Hello there');
    expect(completion).not.toHaveProperty('usage');
    expect(done).toBe(true);
    expect(chunks.some((chunk) => chunk.usage != null)).toBe(false);
  });
});

describe('OpenAI server: authentication', () => {
  it("answers 401 in OpenAI's shape for a missing or wrong key, and does not count the call", async () => {
    // Prepare
    const before = server.invocationCount('toy-gpt');

    // Act
    const missing = await post('/v1/chat/completions', hello, { authorization: '' });
    const wrong = await post('/v1/chat/completions', hello, { authorization: 'Bearer sk-wrong-key-999999' });

    // Assess
    expect(missing.status).toBe(401);
    expect(await missing.json()).toMatchObject({ error: { type: 'invalid_request_error', message: expect.stringContaining("didn't provide an API key") } });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ error: { code: 'invalid_api_key', message: 'Incorrect API key provided: sk-*****9999.' } });
    expect(server.invocationCount('toy-gpt')).toBe(before);
  });

  it('asks for no key when started without one', async () => {
    // Prepare
    const open = await startOpenAiServer();

    try {
      // Act
      const response = await fetch(`${open.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify(hello) });

      // Assess
      expect(response.status).toBe(200);
    } finally {
      await open.close();
    }
  });
});

describe('OpenAI server: models and routes', () => {
  it('lists and retrieves its models', async () => {
    // Act
    const list = await body<unknown>(fetch(`${server.url}/v1/models`, { headers: { authorization: `Bearer ${apiKey}` } }));
    const one = await fetch(`${server.url}/v1/models/toy-embedding`, { headers: { authorization: `Bearer ${apiKey}` } });
    const none = await fetch(`${server.url}/v1/models/nope`, { headers: { authorization: `Bearer ${apiKey}` } });

    // Assess
    expect(list).toEqual({
      object: 'list',
      data: ['toy-gpt', 'toy-gpt-no-usage', 'toy-embedding'].map((id) => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'modelgate-local' })),
    });
    expect(await one.json()).toMatchObject({ id: 'toy-embedding', object: 'model' });
    expect(none.status).toBe(404);
  });

  it('answers an unknown route with 404 naming the method and path', async () => {
    // Act
    const response = await post('/v1/images/generations', {});

    // Assess
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: { message: 'Invalid URL (POST /v1/images/generations)' } });
  });
});

describe('OpenAI server: faults', () => {
  it.each([
    ['throttle', 429, { type: 'requests', code: 'rate_limit_exceeded' }],
    ['unavailable', 503, { type: 'server_error' }],
    ['server-error', 500, { type: 'server_error' }],
    ['bad-request', 400, { type: 'invalid_request_error', code: 'context_length_exceeded' }],
  ] as const)('answers fault %s with %i in OpenAI’s error shape', async (kind, status, error) => {
    // Prepare
    server.setFault('toy-gpt', { kind });

    // Act
    const response = await post('/v1/chat/completions', hello);

    // Assess
    expect(response.status).toBe(status);
    expect(await response.json()).toMatchObject({ error: { message: expect.any(String), ...error } });
  });

  it('sends retry-after with a throttle when the fault says so', async () => {
    // Prepare
    server.setFault('toy-gpt', { kind: 'throttle', retryAfterSeconds: 2 });

    // Act
    const response = await post('/v1/chat/completions', hello);

    // Assess
    expect(response.headers.get('retry-after')).toBe('2');
  });

  it('answers 200 with a body that is not JSON under fault malformed, streamed or not', async () => {
    // Prepare
    server.setFault('toy-gpt', { kind: 'malformed' });

    // Act
    const plain = await post('/v1/chat/completions', hello);
    const streamed = await post('/v1/chat/completions', { ...hello, stream: true });

    // Assess
    expect(plain.status).toBe(200);
    await expect(plain.json()).rejects.toThrow(SyntaxError);
    expect(streamed.status).toBe(200);
    const data = parseSse(await streamed.text()).map((event) => event.data);
    expect(() => data.slice(0, -1).forEach((line) => JSON.parse(line))).toThrow(SyntaxError);
  });

  it('waits out a delay, then answers normally', async () => {
    // Prepare
    server.setFault('toy-gpt', { kind: 'delay', ms: 150 });
    const started = performance.now();

    // Act
    const response = await post('/v1/chat/completions', hello);

    // Assess
    expect(response.status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('cuts a stream after the given number of chunks: the client gets them, then a broken connection and no [DONE]', async () => {
    // Prepare
    server.setFault('toy-gpt', { kind: 'stream-cut', afterChunks: 3 });

    // Act
    const response = await post('/v1/chat/completions', { ...hello, stream: true });
    const read = await readToEnd(response);

    // Assess
    expect(response.status).toBe(200);
    expect(read.error).toBeInstanceOf(Error);
    const { chunks, done } = chunksOf(read.text);
    expect(done).toBe(false);
    expect(chunks).toHaveLength(3);
  });

  it('leaves non-streamed calls alone under a stream fault, and does not spend its times on them', async () => {
    // Prepare
    server.setFault('toy-gpt', { kind: 'stream-cut', afterChunks: 0, times: 1 });

    // Act
    const plain = await post('/v1/chat/completions', hello);
    const cut = await readToEnd(await post('/v1/chat/completions', { ...hello, stream: true }));
    const after = await readToEnd(await post('/v1/chat/completions', { ...hello, stream: true }));

    // Assess
    expect(plain.status).toBe(200);
    expect(cut.error).toBeInstanceOf(Error);
    expect(cut.text).toBe('');
    expect(after.error).toBeUndefined();
    expect(chunksOf(after.text).done).toBe(true);
  });

  it('ends a stream with an OpenAI error event and no [DONE] under fault stream-error', async () => {
    // Prepare
    server.setFault('toy-gpt', { kind: 'stream-error', afterChunks: 2 });

    // Act
    const read = await readToEnd(await post('/v1/chat/completions', { ...hello, stream: true }));

    // Assess
    expect(read.error).toBeUndefined();
    const { chunks, done } = chunksOf(read.text);
    expect(done).toBe(false);
    expect(chunks).toHaveLength(3);
    expect(chunks.at(-1)).toEqual({ error: expect.objectContaining({ type: 'server_error' }) });
  });

  it('delivers the same stream in writes of a few bytes under fault fragmented-stream', async () => {
    // Prepare
    const whole = chunksOf(await (await post('/v1/chat/completions', { ...hello, stream: true })).text());
    server.setFault('toy-gpt', { kind: 'fragmented-stream', bytes: 5 });

    // Act
    const fragmented = chunksOf(await (await post('/v1/chat/completions', { ...hello, stream: true })).text());

    // Assess
    expect(fragmented.done).toBe(true);
    expect(fragmented.chunks.map((chunk) => chunk.choices)).toEqual(whole.chunks.map((chunk) => chunk.choices));
  });

  it('paces a stream under fault slow-stream', async () => {
    // Prepare
    server.setFault('toy-gpt', { kind: 'slow-stream', intervalMs: 20 });
    const started = performance.now();

    // Act
    const { chunks, done } = chunksOf(await (await post('/v1/chat/completions', { ...hello, stream: true })).text());

    // Assess
    expect(done).toBe(true);
    // 7 chunks and [DONE]: 7 intervals.
    expect(performance.now() - started).toBeGreaterThanOrEqual(7 * 20 - 5);
    expect(chunks).toHaveLength(7);
  });

  it('applies a fault only for its number of times, then answers normally', async () => {
    // Prepare
    server.setFault('toy-gpt', { kind: 'unavailable', times: 2 });

    // Act
    const statuses = [];
    for (let call = 0; call < 3; call += 1) statuses.push((await post('/v1/chat/completions', hello)).status);

    // Assess
    expect(statuses).toEqual([503, 503, 200]);
  });
});

describe('OpenAI server: control API', () => {
  it('sets a fault with PUT /_faults/{model}, clears it with DELETE, and counts calls per model on GET /_stats', async () => {
    // Prepare
    const before = (await body<Stats>(fetch(`${server.url}/_stats`))).invocations;

    // Act
    const put = await fetch(`${server.url}/_faults/toy-gpt`, { method: 'PUT', body: JSON.stringify({ kind: 'bad-request' }) });
    const faulted = await post('/v1/chat/completions', hello);
    const deleted = await fetch(`${server.url}/_faults/toy-gpt`, { method: 'DELETE' });
    const healthy = await post('/v1/chat/completions', hello);
    const after = (await body<Stats>(fetch(`${server.url}/_stats`))).invocations;

    // Assess
    expect(put.status).toBe(200);
    expect(faulted.status).toBe(400);
    expect(deleted.status).toBe(204);
    expect(healthy.status).toBe(200);
    expect(after['toy-gpt']).toBe((before['toy-gpt'] ?? 0) + 2);
    expect(Object.keys(after).sort()).toEqual(['toy-embedding', 'toy-gpt', 'toy-gpt-no-usage']);
  });

  it('refuses an invalid fault with 400 and a fault for an unknown model with 404', async () => {
    // Act
    const invalid = await fetch(`${server.url}/_faults/toy-gpt`, { method: 'PUT', body: JSON.stringify({ kind: 'stream-cut' }) });
    const unknown = await fetch(`${server.url}/_faults/gpt-9`, { method: 'PUT', body: JSON.stringify({ kind: 'throttle' }) });

    // Assess
    expect(invalid.status).toBe(400);
    expect(await invalid.json()).toMatchObject({ message: expect.stringContaining('afterChunks') });
    expect(unknown.status).toBe(404);
  });
});

describe('startOpenAiServer', () => {
  it('closes promptly while a delayed call is pending', async () => {
    // Prepare
    const delayed = await startOpenAiServer();
    delayed.setFault('toy-gpt', { kind: 'delay', ms: 10_000 });
    const pending = fetch(`${delayed.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify(hello) }).catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = performance.now();

    // Act
    await delayed.close();

    // Assess
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(await pending).toBeInstanceOf(Error);
  });

  it('refuses a model catalogue entry that is not a toy model', async () => {
    // Act
    const starting = startOpenAiServer({ models: { odd: { kind: 'dream' } as never } });

    // Assess
    await expect(starting).rejects.toThrow();
  });
});
