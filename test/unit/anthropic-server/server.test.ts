import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startAnthropicServer, type AnthropicServer } from '../../../local/anthropic-server/server';
import { parseSse, readToEnd, type SseEvent } from '../server-sent-events';

const apiKey = 'sk-ant-local-test';
let server: AnthropicServer;

beforeAll(async () => {
  server = await startAnthropicServer({ apiKey });
});

afterEach(() => {
  for (const model of server.models) server.setFault(model, undefined);
});

afterAll(async () => {
  await server.close();
});

function post(body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${server.url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': apiKey, 'anthropic-version': '2023-06-01', 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

async function body<T = Record<string, unknown>>(response: Response | Promise<Response>): Promise<T> {
  return (await (await response).json()) as T;
}

const hello = { model: 'toy-claude', max_tokens: 100, messages: [{ role: 'user', content: 'Hello there' }] };

/** Each event's name, checked against the `type` its data carries. */
function eventNames(events: SseEvent[]): Array<string | undefined> {
  return events.map((event) => {
    const data = JSON.parse(event.data) as { type: string };
    expect(data.type).toBe(event.event);
    return event.event;
  });
}

describe('Anthropic server: messages', () => {
  it("answers Anthropic's message shape: text content block, stop_reason end_turn and input/output token usage", async () => {
    // Act
    const response = await post(hello);

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers.get('request-id')).toMatch(/^req_/);
    expect(await response.json()).toEqual({
      id: expect.stringMatching(/^msg_/),
      type: 'message',
      role: 'assistant',
      model: 'toy-claude',
      content: [{ type: 'text', text: 'You said: Hello there' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: 6, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 5 },
    });
  });

  it('counts the top-level system prompt and content blocks, and stops at max_tokens with stop_reason max_tokens', async () => {
    // Prepare
    const request = {
      model: 'toy-claude',
      max_tokens: 3,
      system: [{ type: 'text', text: 'Be brief.' }],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'one two three' }] }],
    };

    // Act
    const message = await body(post(request));

    // Assess
    expect(message).toMatchObject({
      content: [{ type: 'text', text: 'You said:' }],
      stop_reason: 'max_tokens',
      usage: { input_tokens: 12, output_tokens: 3 },
    });
  });

  it('reports the stop sequence it stopped at', async () => {
    // Act
    const message = await body(post({ ...hello, stop_sequences: [' there'] }));

    // Assess
    expect(message).toMatchObject({ content: [{ text: 'You said: Hello' }], stop_reason: 'stop_sequence', stop_sequence: ' there' });
  });

  it('streams the real event sequence with text deltas, and the final output tokens on message_delta', async () => {
    // Act
    const response = await post({ ...hello, stream: true });
    const events = parseSse(await response.text());

    // Assess
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(eventNames(events)).toEqual([
      'message_start',
      'content_block_start',
      'ping',
      ...Array(5).fill('content_block_delta'),
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    type StreamEvent = { type: string; delta?: { text?: string } };
    const data = events.map((event) => JSON.parse(event.data) as StreamEvent);
    expect(data[0]).toMatchObject({ message: { role: 'assistant', content: [], stop_reason: null, usage: { input_tokens: 6 } } });
    expect(data[1]).toEqual({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
    expect(data.filter((event) => event.type === 'content_block_delta').map((event) => event.delta?.text).join('')).toBe('You said: Hello there');
    expect(data[3]).toEqual({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'You' } });
    expect(data.at(-2)).toEqual({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 5 } });
  });
});

describe('Anthropic server: request checks', () => {
  it.each([
    ['no x-api-key', { 'x-api-key': '' }, 401, 'authentication_error', 'x-api-key header is required'],
    ['a wrong x-api-key', { 'x-api-key': 'sk-ant-wrong' }, 401, 'authentication_error', 'invalid x-api-key'],
    ['no anthropic-version', { 'anthropic-version': '' }, 400, 'invalid_request_error', 'anthropic-version: header is required'],
    ['an unknown anthropic-version', { 'anthropic-version': '1999-01-01' }, 400, 'invalid_request_error', 'anthropic-version: invalid version'],
  ] as const)('answers a request with %s with %i %s', async (_case, headers, status, type, message) => {
    // Prepare
    const before = server.invocationCount('toy-claude');

    // Act
    const response = await post(hello, headers);

    // Assess
    expect(response.status).toBe(status);
    expect(await response.json()).toEqual({ type: 'error', error: { type, message }, request_id: expect.stringMatching(/^req_/) });
    expect(server.invocationCount('toy-claude')).toBe(before);
  });

  it("answers a missing max_tokens, a system-role message and an unknown model in Anthropic's words", async () => {
    // Act
    const noMaxTokens = await post({ model: 'toy-claude', messages: hello.messages });
    const systemRole = await post({ ...hello, messages: [{ role: 'system', content: 'x' }, ...hello.messages] });
    const unknownModel = await post({ ...hello, model: 'claude-9' });

    // Assess
    expect(noMaxTokens.status).toBe(400);
    expect(await noMaxTokens.json()).toMatchObject({ error: { type: 'invalid_request_error', message: 'max_tokens: Field required' } });
    expect(systemRole.status).toBe(400);
    expect(await systemRole.json()).toMatchObject({ error: { message: expect.stringContaining('Unexpected role "system"') } });
    expect(unknownModel.status).toBe(404);
    expect(await unknownModel.json()).toMatchObject({ error: { type: 'not_found_error', message: 'model: claude-9' } });
  });

  it('lists its models', async () => {
    // Act
    const list = await body(fetch(`${server.url}/v1/models`, { headers: { 'x-api-key': apiKey, 'anthropic-version': '2023-06-01' } }));

    // Assess
    expect(list).toMatchObject({ data: [{ type: 'model', id: 'toy-claude' }], has_more: false });
  });
});

describe('Anthropic server: faults', () => {
  it.each([
    ['throttle', 429, 'rate_limit_error'],
    ['unavailable', 529, 'overloaded_error'],
    ['server-error', 500, 'api_error'],
    ['bad-request', 400, 'invalid_request_error'],
  ] as const)('answers fault %s with %i %s', async (kind, status, type) => {
    // Prepare
    server.setFault('toy-claude', { kind, ...(kind === 'throttle' ? { retryAfterSeconds: 3 } : {}) });

    // Act
    const response = await post(hello);

    // Assess
    expect(response.status).toBe(status);
    expect(await response.json()).toMatchObject({ type: 'error', error: { type, message: expect.any(String) } });
    if (kind === 'throttle') expect(response.headers.get('retry-after')).toBe('3');
  });

  it('answers 200 with a body that is not JSON under fault malformed', async () => {
    // Prepare
    server.setFault('toy-claude', { kind: 'malformed' });

    // Act
    const response = await post(hello);

    // Assess
    expect(response.status).toBe(200);
    await expect(response.json()).rejects.toThrow(SyntaxError);
  });

  it('waits out a delay, then answers normally', async () => {
    // Prepare
    server.setFault('toy-claude', { kind: 'delay', ms: 150 });
    const started = performance.now();

    // Act
    const response = await post(hello);

    // Assess
    expect(response.status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('cuts a stream after the given number of events, without message_stop', async () => {
    // Prepare
    server.setFault('toy-claude', { kind: 'stream-cut', afterChunks: 4 });

    // Act
    const read = await readToEnd(await post({ ...hello, stream: true }));

    // Assess
    expect(read.error).toBeInstanceOf(Error);
    expect(eventNames(parseSse(read.text))).toEqual(['message_start', 'content_block_start', 'ping', 'content_block_delta']);
  });

  it('ends a stream with an overloaded_error event under fault stream-error, as the real API does mid-stream', async () => {
    // Prepare
    server.setFault('toy-claude', { kind: 'stream-error', afterChunks: 4 });

    // Act
    const read = await readToEnd(await post({ ...hello, stream: true }));

    // Assess
    expect(read.error).toBeUndefined();
    const events = parseSse(read.text);
    expect(eventNames(events)).toEqual(['message_start', 'content_block_start', 'ping', 'content_block_delta', 'error']);
    expect(JSON.parse(events.at(-1)?.data ?? '')).toEqual({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
  });

  it('delivers the same event sequence in writes of a few bytes under fault fragmented-stream', async () => {
    // Prepare
    server.setFault('toy-claude', { kind: 'fragmented-stream', bytes: 4 });

    // Act
    const read = await readToEnd(await post({ ...hello, stream: true }));

    // Assess
    expect(read.error).toBeUndefined();
    expect(eventNames(parseSse(read.text))).toEqual([
      'message_start',
      'content_block_start',
      'ping',
      ...Array(5).fill('content_block_delta'),
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
  });

  it('counts calls per model on GET /_stats and takes faults over PUT/DELETE /_faults/{model}', async () => {
    // Prepare
    const before = server.invocationCount('toy-claude');

    // Act
    const put = await fetch(`${server.url}/_faults/toy-claude`, { method: 'PUT', body: JSON.stringify({ kind: 'bad-request', times: 1 }) });
    const refused = await post(hello);
    const answered = await post(hello);
    const stats = await body<{ invocations: Record<string, number> }>(fetch(`${server.url}/_stats`));

    // Assess
    expect(put.status).toBe(200);
    expect(refused.status).toBe(400);
    expect(answered.status).toBe(200);
    expect(stats.invocations).toEqual({ 'toy-claude': before + 2 });
  });
});
