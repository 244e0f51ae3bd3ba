import { beforeEach, describe, expect, it } from 'vitest';
import { apiKeyRecordFor } from '../../lib/core/api-key';
import { CircuitBreakers } from '../../lib/core/circuit-breaker';
import { createEndpointRegistry } from '../../lib/core/endpoint-registry';
import { BadGatewayError, ModelInputError, ServiceUnavailableError } from '../../lib/core/errors';
import { PROMPT_TOKENS, type ChatCompletion, type ChatCompletionChunk } from '../../lib/core/openai-api';
import { serveInvocation, type InvocationDeps, type InvocationRequest, type InvocationSurface } from '../../lib/core/serve-invocation';
import { FakeKeyStore, ManualClock, RecordingAuditSink, RecordingUsageSink, ScriptedBackend, scriptedRegistry } from '../fakes/fake-ports';

const KEY = `mgk_${'a'.repeat(43)}`;
const now = new Date('2026-11-21T10:00:00Z');

const endpoints = createEndpointRegistry({
  version: 1,
  endpoints: [
    {
      name: 'assistant',
      task: 'chat',
      routing: { retries: 0 },
      servedEntities: [
        { name: 'llama-sagemaker', backend: 'sagemaker', endpointName: 'llama', fallbacks: ['gpt-external'] },
        { name: 'gpt-external', backend: 'openai', model: 'gpt-4o-mini', weight: 0, apiKey: { ssmParameter: '/modelgate/openai' } },
      ],
    },
    { name: 'embedder', task: 'embeddings', servedEntities: [{ name: 'e5', backend: 'sagemaker', endpointName: 'e5' }] },
    { name: 'iris', task: 'custom', servedEntities: [{ name: 'iris-v1', backend: 'sagemaker', endpointName: 'iris' }] },
  ],
});

const MESSAGES = [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', content: 'Say hello to the audit team.' },
];

function completion(text: string, usage?: ChatCompletion['usage']): ChatCompletion {
  return {
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 1_763_700_000,
    model: 'llama-3',
    choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
    ...(usage ? { usage } : {}),
  };
}

function chunk(content: string | undefined, extra: Partial<ChatCompletionChunk> = {}): ChatCompletionChunk {
  return {
    id: 'chatcmpl-1',
    object: 'chat.completion.chunk',
    created: 1_763_700_000,
    model: 'llama-3',
    choices: content === undefined ? [] : [{ index: 0, delta: { content }, finish_reason: null }],
    ...extra,
  };
}

async function* chunks(items: ChatCompletionChunk[], failAfter?: Error): AsyncGenerator<ChatCompletionChunk> {
  for (const item of items) yield item;
  if (failAfter) throw failAfter;
}

const decoder = new TextDecoder();

/** Reads a streamed answer's frames to the end (or until `stopAfter` frames, as a caller hanging up). */
async function readFrames(body: AsyncIterable<Uint8Array>, stopAfter = Number.POSITIVE_INFINITY): Promise<string[]> {
  const frames: string[] = [];
  for await (const frame of body) {
    frames.push(decoder.decode(frame).replace(/^data: /, '').trimEnd());
    if (frames.length >= stopAfter) break;
  }
  return frames;
}

describe('serveInvocation for LLM tasks', () => {
  let primary: ScriptedBackend;
  let fallback: ScriptedBackend;
  let audit: RecordingAuditSink;
  let usage: RecordingUsageSink;
  let deps: InvocationDeps;
  let sequence = 0;

  beforeEach(() => {
    primary = new ScriptedBackend(async () => Promise.reject(new Error('not a custom endpoint')));
    fallback = new ScriptedBackend(async () => Promise.reject(new Error('not a custom endpoint')));
    usage = new RecordingUsageSink();
    audit = new RecordingAuditSink(usage);
    deps = {
      endpoints,
      keys: new FakeKeyStore([apiKeyRecordFor(KEY, { tenant: 'acme', roles: ['invoke'], endpoints: ['*'], now })]),
      backends: { ...scriptedRegistry(primary), openai: fallback },
      audit,
      usage,
      clock: new ManualClock(),
      breakers: new CircuitBreakers(),
      sleep: async () => undefined,
    };
  });

  function request(surface: InvocationSurface, body: unknown, endpointName?: string): InvocationRequest {
    sequence += 1;
    return {
      requestId: `req-${sequence}`,
      receivedAt: now,
      startedAt: deps.clock.monotonic(),
      surface,
      endpointName,
      authorization: `Bearer ${KEY}`,
      contentType: 'application/json',
      body: new TextEncoder().encode(JSON.stringify(body)),
      clientIp: '203.0.113.9',
      userAgent: 'openai-node',
    };
  }

  async function json(surface: InvocationSurface, body: unknown, endpointName?: string) {
    const outcome = await serveInvocation(request(surface, body, endpointName), deps);
    if (!(outcome.body instanceof Uint8Array)) throw new Error('expected JSON');
    return { outcome, settled: await outcome.settled, answer: JSON.parse(decoder.decode(outcome.body)) as Record<string, unknown> };
  }

  it('answers a chat completion with the endpoint as model and the backend\'s token counts', async () => {
    // Prepare
    primary.chatWith = async () => completion('Hello, audit team.', { prompt_tokens: 21, completion_tokens: 5, total_tokens: 26 });
    // Act
    const { outcome, answer } = await json('chat', { model: 'assistant', messages: MESSAGES });
    // Assess
    expect(outcome.statusCode).toBe(200);
    expect(answer).toMatchObject({ object: 'chat.completion', model: 'assistant', usage: { prompt_tokens: 21, completion_tokens: 5 } });
    expect(outcome.headers['x-modelgate-served-entity']).toBe('llama-sagemaker');
    expect(audit.records[0]).toMatchObject({ servedEntity: 'llama-sagemaker', units: { kind: 'tokens', input: 21, output: 5, estimated: false } });
    expect(usage.events[0]).toMatchObject({ servedEntity: 'llama-sagemaker', units: { kind: 'tokens', input: 21, output: 5, estimated: false } });
  });

  it('estimates and marks token counts when the backend reports none', async () => {
    primary.chatWith = async () => completion('Hello, audit team.');
    const { outcome, answer } = await json('chat', { model: 'assistant', messages: MESSAGES });
    expect(outcome.headers['x-modelgate-usage-estimated']).toBe('true');
    // "You are terse.\nSay hello to the audit team." is 43 bytes → 11; "Hello, audit team." 18 bytes → 5.
    expect(answer.usage).toEqual({ prompt_tokens: 11, completion_tokens: 5, total_tokens: 16 });
    expect(usage.events[0]?.units).toEqual({ kind: 'tokens', input: 11, output: 5, estimated: true });
  });

  it('takes every content part type OpenAI takes (audio, files, refusals) and forwards them as sent', async () => {
    // Prepare
    let forwarded: unknown;
    primary.chatWith = async (call) => {
      forwarded = call.input.messages;
      return completion('Heard it.', { prompt_tokens: 90, completion_tokens: 3, total_tokens: 93 });
    };
    const messages = [
      { role: 'user', content: [{ type: 'text', text: 'Transcribe:' }, { type: 'input_audio', input_audio: { data: 'UklGRg==', format: 'wav' } }, { type: 'file', file: { file_id: 'file-abc' } }] },
      { role: 'assistant', content: [{ type: 'refusal', refusal: 'Not that one.' }] },
      { role: 'user', content: 'Then this one.' },
    ];
    // Act
    const { outcome } = await json('chat', { model: 'assistant', messages });
    // Assess
    expect(outcome.statusCode).toBe(200);
    expect(forwarded).toEqual(messages);
  });

  it('counts embeddings sent as token ids by their number, not their digits, when the backend reports none', async () => {
    // Prepare
    primary.embedWith = async () => ({ object: 'list', model: 'e5', data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2] }] });
    const ids = Array.from({ length: 1_000 }, (_, i) => 100_000 + i);
    // Act
    const { answer } = await json('embeddings', { model: 'embedder', input: ids });
    // Assess: the answer, the record and the bill agree, and none of them is an estimate.
    expect(answer.usage).toEqual({ prompt_tokens: 1_000, completion_tokens: 0, total_tokens: 1_000 });
    expect(audit.records[0]?.units).toEqual({ kind: 'tokens', input: 1_000, output: 0, estimated: false });
    expect(usage.events[0]?.units).toEqual({ kind: 'tokens', input: 1_000, output: 0, estimated: false });
  });

  it('estimates the prompt with an assistant\'s earlier tool calls and the tools offered, which are prompt too', async () => {
    // Prepare: 4,000 bytes of arguments in an earlier tool call, and a tool definition.
    primary.chatWith = async () => completion('Done.');
    const toolCall = { id: 'call_1', type: 'function', function: { name: 'save', arguments: JSON.stringify({ text: 'x'.repeat(3_989) }) } };
    const tools = [{ type: 'function', function: { name: 'save', parameters: { type: 'object' } } }];
    const messages = [{ role: 'user', content: 'Save it.' }, { role: 'assistant', content: null, tool_calls: [toolCall] }, { role: 'tool', tool_call_id: 'call_1', content: 'ok' }];
    // Act
    await json('chat', { model: 'assistant', messages, tools });
    // Assess: "Save it." + "save" + 4,000 bytes of arguments + "ok" + the tools' JSON, and three newlines.
    const expected = Math.ceil((8 + 4 + 4_000 + 2 + JSON.stringify(tools).length + 3) / 4);
    expect(usage.events[0]?.units).toEqual({ kind: 'tokens', input: expected, output: 2, estimated: true });
  });

  it('also serves the chat endpoint on /serving-endpoints/{name}/invocations, model optional', async () => {
    primary.chatWith = async () => completion('Hi.');
    const { outcome } = await json('invocations', { messages: MESSAGES }, 'assistant');
    expect(outcome.statusCode).toBe(200);
  });

  it('falls back to the external provider when the SageMaker primary fails, and records both attempts', async () => {
    // Prepare
    primary.chatWith = async () => {
      throw new ServiceUnavailableError('BACKEND_UNAVAILABLE', 'down');
    };
    fallback.chatWith = async () => completion('From the fallback.', { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12 });
    // Act
    const { outcome } = await json('chat', { model: 'assistant', messages: MESSAGES });
    // Assess
    expect(outcome.headers['x-modelgate-served-entity']).toBe('gpt-external');
    expect(audit.records[0]?.attempts.map((attempt) => [attempt.entity, attempt.outcome])).toEqual([
      ['llama-sagemaker', 'BACKEND_UNAVAILABLE'],
      ['gpt-external', 'ok'],
    ]);
    expect(usage.events[0]?.servedEntity).toBe('gpt-external');
  });

  it('never sends a model\'s own 4xx to the fallback', async () => {
    primary.chatWith = async () => {
      throw new ModelInputError('The model rejected the input (status 400): context too long');
    };
    const { outcome } = await json('chat', { model: 'assistant', messages: MESSAGES });
    expect(outcome.statusCode).toBe(400);
    expect(fallback.requests).toHaveLength(0);
    // Billed in the endpoint's own unit, with nothing consumed.
    expect(usage.events[0]?.units).toEqual({ kind: 'tokens', input: 0, output: 0, estimated: false });
  });

  it.each([
    ['chat', { model: 'assistant', messages: [] }, /messages must not be empty/],
    ['chat', { model: 'assistant', messages: [{ role: 'wizard', content: 'hi' }] }, /messages\[0\]\.role/],
    ['chat', { model: 'assistant', messages: MESSAGES, temperature: 7 }, /temperature/],
    ['chat', { messages: MESSAGES }, /model: required/],
    ['chat', { model: '', messages: MESSAGES }, /model: required/],
    ['chat', { model: 5, messages: MESSAGES }, /model: must be a string.*not a number/],
    ['chat', { model: ['assistant'], messages: MESSAGES }, /model: must be a string.*not an array/],
    ['chat', { model: { name: 'assistant' }, messages: MESSAGES }, /model: must be a string.*not an object/],
    ['chat', [{ model: 'assistant', messages: MESSAGES }], /Request body must be a JSON object naming its model, not an array/],
    ['embeddings', 'assistant', /Request body must be a JSON object naming its model, not a string/],
    ['completions', null, /Request body must be a JSON object naming its model, not null/],
    ['chat', { model: 'iris', messages: MESSAGES }, /serves the custom task.*\/serving-endpoints\/iris\/invocations/],
    ['embeddings', { model: 'assistant', input: 'x' }, /serves the chat task.*\/v1\/chat\/completions/],
    ['embeddings', { model: 'embedder', input: [] }, /input/],
  ] as const)('refuses a %s body that does not fit (%j) with a 400 naming the field', async (surface, body, message) => {
    const { outcome, answer } = await json(surface, body);
    expect(outcome.statusCode).toBe(400);
    expect((answer.error as { message: string }).message).toMatch(message);
    expect(primary.requests).toHaveLength(0);
  });

  it('answers 404 for a model that is no endpoint, and a chat body sent to an embeddings endpoint 400, each audited and counted under the model named', async () => {
    const unknown = await json('chat', { model: 'nope', messages: MESSAGES });
    const wrongTask = await json('chat', { model: 'embedder', messages: MESSAGES });
    expect(unknown.outcome.statusCode).toBe(404);
    expect(wrongTask.outcome.statusCode).toBe(400);
    expect(audit.records.map((record) => record.endpoint)).toEqual(['nope', 'embedder']);
    expect(usage.events.map((event) => event.endpoint)).toEqual(['nope', 'embedder']);
  });

  describe('streaming', () => {
    const streamed = [chunk('Hello'), chunk(', audit'), chunk(' team.'), chunk(undefined, { usage: { prompt_tokens: 21, completion_tokens: 5, total_tokens: 26 } })];

    it('relays chunks as Server-Sent Events, ends with [DONE] after the audit hand-off, and counts like the JSON call', async () => {
      // Prepare
      primary.streamChatWith = () => chunks(streamed);
      primary.chatWith = async () => completion('Hello, audit team.', { prompt_tokens: 21, completion_tokens: 5, total_tokens: 26 });
      // Act
      const outcome = await serveInvocation(request('chat', { model: 'assistant', messages: MESSAGES, stream: true }), deps);
      const frames = await readFrames(outcome.body as AsyncIterable<Uint8Array>);
      const settled = await outcome.settled;
      await json('chat', { model: 'assistant', messages: MESSAGES });
      // Assess
      expect(outcome.headers['content-type']).toMatch(/^text\/event-stream/);
      expect(frames.at(-1)).toBe('[DONE]');
      const relayed = frames.slice(0, -1).map((frame) => JSON.parse(frame) as ChatCompletionChunk);
      expect(relayed.map((c) => c.choices[0]?.delta.content).join('')).toBe('Hello, audit team.');
      // The caller did not ask for usage: the backend's usage chunk is not relayed.
      expect(relayed.every((c) => c.usage === undefined && c.model === 'assistant')).toBe(true);
      expect(settled.statusCode).toBe(200);
      expect(audit.records[0]).toMatchObject({ streamed: true, response: { body: { choices: [{ message: { content: 'Hello, audit team.' } }] } } });
      expect(usage.events[0]?.units).toEqual(usage.events[1]?.units);
    });

    it('gives the caller an estimated usage chunk when asked and the backend sent none, equal to the JSON call\'s', async () => {
      primary.streamChatWith = () => chunks(streamed.slice(0, 3));
      primary.chatWith = async () => completion('Hello, audit team.');
      const outcome = await serveInvocation(
        request('chat', { model: 'assistant', messages: MESSAGES, stream: true, stream_options: { include_usage: true } }),
        deps,
      );
      const frames = await readFrames(outcome.body as AsyncIterable<Uint8Array>);
      const { answer } = await json('chat', { model: 'assistant', messages: MESSAGES });
      expect(JSON.parse(frames.at(-2)!)).toMatchObject({ choices: [], usage: answer.usage });
      expect(usage.events[0]?.units).toEqual({ kind: 'tokens', input: 11, output: 5, estimated: true });
      expect(usage.events[0]?.units).toEqual(usage.events[1]?.units);
    });

    it('audits and counts a streamed answer that only calls tools: the calls assembled whole, billed as the JSON call', async () => {
      // Prepare: the calls' ids and names first, then their arguments in pieces, no text at all.
      const toolChunk = (toolCalls: unknown[], finish: string | null = null): ChatCompletionChunk => ({
        ...chunk(undefined),
        choices: [{ index: 0, delta: { tool_calls: toolCalls }, finish_reason: finish }],
      });
      primary.streamChatWith = () =>
        chunks([
          toolChunk([{ index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '' } }]),
          toolChunk([{ index: 0, function: { arguments: '{"city":' } }]),
          toolChunk([{ index: 0, function: { arguments: '"Oslo"}' } }]),
          toolChunk([{ index: 1, id: 'call_2', type: 'function', function: { name: 'get_time', arguments: '{}' } }], 'tool_calls'),
        ]);
      const toolCalls = [
        { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
        { id: 'call_2', type: 'function', function: { name: 'get_time', arguments: '{}' } },
      ];
      primary.chatWith = async () => ({
        ...completion(''),
        choices: [{ index: 0, message: { role: 'assistant', content: null, tool_calls: toolCalls }, finish_reason: 'tool_calls' }],
      });
      // Act
      const outcome = await serveInvocation(request('chat', { model: 'assistant', messages: MESSAGES, stream: true }), deps);
      await readFrames(outcome.body as AsyncIterable<Uint8Array>);
      await outcome.settled;
      await json('chat', { model: 'assistant', messages: MESSAGES });
      // Assess
      expect(audit.records[0]).toMatchObject({ response: { body: { choices: [{ message: { tool_calls: toolCalls }, finish_reason: 'tool_calls' }] } } });
      expect(usage.events[0]?.units).toMatchObject({ kind: 'tokens', output: 9, estimated: true }); // 36 bytes of names and arguments
      expect(usage.events[0]?.units).toEqual(usage.events[1]?.units);
    });

    it('falls back before the first byte when the primary fails to open its stream', async () => {
      primary.streamChatWith = () => chunks([], new ServiceUnavailableError('BACKEND_THROTTLED', 'busy'));
      fallback.streamChatWith = () => chunks(streamed);
      const outcome = await serveInvocation(request('chat', { model: 'assistant', messages: MESSAGES, stream: true }), deps);
      await readFrames(outcome.body as AsyncIterable<Uint8Array>);
      expect(outcome.headers['x-modelgate-served-entity']).toBe('gpt-external');
    });

    it('ends a stream that breaks after the first byte with an error event, never [DONE], and audits the failure', async () => {
      // Prepare
      primary.streamChatWith = () => chunks(streamed.slice(0, 2), new BadGatewayError('MODEL_ERROR', 'The model failed while streaming'));
      // Act
      const outcome = await serveInvocation(request('chat', { model: 'assistant', messages: MESSAGES, stream: true }), deps);
      const frames = await readFrames(outcome.body as AsyncIterable<Uint8Array>);
      const settled = await outcome.settled;
      // Assess
      expect(frames).not.toContain('[DONE]');
      expect(JSON.parse(frames.at(-1)!)).toMatchObject({ error: { code: 'MODEL_ERROR', request_id: settled.audit.requestId } });
      expect(fallback.requests).toHaveLength(0);
      expect(audit.records[0]).toMatchObject({ status: 502, errorCode: 'MODEL_ERROR', streamed: true });
    });

    it('bills a stream cut short for the prompt count its backend gave at the start, not an estimate of it', async () => {
      // Prepare: the first chunk carries the prompt's exact count (cached tokens included), then the model fails.
      const first = Object.assign(chunk('Hello'), { [PROMPT_TOKENS]: 25_000 });
      primary.streamChatWith = () => chunks([first, chunk(', audit')], new BadGatewayError('MODEL_ERROR', 'overloaded'));
      // Act
      const outcome = await serveInvocation(request('chat', { model: 'assistant', messages: MESSAGES, stream: true }), deps);
      await readFrames(outcome.body as AsyncIterable<Uint8Array>);
      await outcome.settled;
      // Assess: "Hello, audit" is 12 bytes, 3 tokens estimated.
      expect(usage.events[0]).toMatchObject({ status: 502, units: { kind: 'tokens', input: 25_000, output: 3, estimated: true } });
    });

    it('ends with an error event instead of [DONE] when the audit record cannot be handed off', async () => {
      primary.streamChatWith = () => chunks(streamed);
      audit.failWith = new Error('queue unreachable');
      const outcome = await serveInvocation(request('chat', { model: 'assistant', messages: MESSAGES, stream: true }), deps);
      const frames = await readFrames(outcome.body as AsyncIterable<Uint8Array>);
      expect(frames).not.toContain('[DONE]');
      expect(JSON.parse(frames.at(-1)!)).toMatchObject({ error: { code: 'AUDIT_UNAVAILABLE' } });
      expect((await outcome.settled).handoffError).toBeInstanceOf(Error);
      // The tokens reached the caller: billing fails closed, so the usage event went on its own.
      expect(usage.publishedAlone).toBe(1);
      expect(usage.events).toEqual([expect.objectContaining({ status: 200, units: { kind: 'tokens', input: 21, output: 5, estimated: false } })]);
    });

    it('still audits a stream the caller left before reading its first frame, as 499', async () => {
      primary.streamChatWith = () => chunks(streamed);
      const outcome = await serveInvocation(request('chat', { model: 'assistant', messages: MESSAGES, stream: true }), deps);
      await (outcome.body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]().return?.();
      const settled = await outcome.settled;
      expect(settled.statusCode).toBe(499);
      expect(audit.records).toEqual([expect.objectContaining({ status: 499, errorCode: 'CLIENT_CLOSED_REQUEST' })]);
    });

    it.each([
      ['fails', true],
      ['ends quietly', false],
    ])('stops a model that is between chunks when the caller leaves, and audits the stream as 499 at once (the stopped model %s)', async (_, throwsWhenStopped) => {
      // Prepare: after its first chunk the model waits until it is stopped.
      let stopped = false;
      primary.streamChatWith = (call) =>
        (async function* () {
          yield chunk('Hel');
          await new Promise((resolve) => call.signal.addEventListener('abort', resolve, { once: true }));
          stopped = true;
          if (throwsWhenStopped) throw new Error('stopped');
        })();
      const outcome = await serveInvocation(request('chat', { model: 'assistant', messages: MESSAGES, stream: true }), deps);
      const frames = (outcome.body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
      await frames.next();
      // Act: a read is pending (the model is thinking) when the caller hangs up.
      const pending = frames.next();
      await frames.return?.();
      // Assess
      await pending;
      expect(stopped).toBe(true);
      expect((await outcome.settled).statusCode).toBe(499);
      expect(audit.records).toEqual([expect.objectContaining({ status: 499, errorCode: 'CLIENT_CLOSED_REQUEST', streamed: true })]);
    });

    it('still audits a stream the caller abandoned, as 499', async () => {
      primary.streamChatWith = () => chunks(streamed);
      const outcome = await serveInvocation(request('chat', { model: 'assistant', messages: MESSAGES, stream: true }), deps);
      await readFrames(outcome.body as AsyncIterable<Uint8Array>, 1);
      const settled = await outcome.settled;
      expect(settled.statusCode).toBe(499);
      expect(audit.records).toEqual([expect.objectContaining({ status: 499, errorCode: 'CLIENT_CLOSED_REQUEST', streamed: true })]);
    });
  });
});
