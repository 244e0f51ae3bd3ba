import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAnthropicBackend } from '../../../../lib/backends/anthropic/create-anthropic-backend';
import type { AnthropicEntity } from '../../../../lib/core/endpoint-config';
import { PROMPT_TOKENS } from '../../../../lib/core/openai-api';
import { FakeSecretStore } from '../../../fakes/fake-secret-store';
import { sendJson, startEventStream, startScriptedServer, type ScriptedServer } from '../scripted-server';
import { collect, failureOf } from '../outcomes';
import { expectFinishedStreamsToShareOneConnection } from '../connection-reuse';

const keyRef = { ssmParameter: '/modelgate/anthropic' };
const NOW = 1_767_225_600_000;

let provider: ScriptedServer;
beforeAll(async () => {
  provider = await startScriptedServer();
});
afterAll(() => provider.close());

const backend = createAnthropicBackend({ secrets: new FakeSecretStore().set(keyRef, 'sk-ant-stream'), now: () => NOW });
const call = (signal: AbortSignal = AbortSignal.timeout(5_000)) => ({
  requestId: 'req-s',
  entity: {
    name: 'claude',
    backend: 'anthropic',
    model: 'claude-haiku-4-5',
    baseUrl: provider.url,
    apiKey: keyRef,
    defaultMaxTokens: 64,
    weight: 100,
    fallbacks: [],
  } satisfies AnthropicEntity,
  input: { model: 'chat-endpoint', messages: [{ role: 'user' as const, content: 'Count to two' }], stream: true, stream_options: { include_usage: true } },
  signal,
});

const messageStart = {
  type: 'message_start',
  message: {
    id: 'msg_02',
    type: 'message',
    role: 'assistant',
    model: 'claude-haiku-4-5-20251001',
    content: [],
    stop_reason: null,
    stop_sequence: null,
    usage: { input_tokens: 21, output_tokens: 1 },
  },
};
const textDelta = (text: string) => ({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } });

/** A whole streamed answer of one word, ending for `stopReason`. */
function sendOneWordAnswer(response: ServerResponse, stopReason: string): void {
  const stream = startEventStream(response);
  stream.event('message_start', messageStart);
  stream.event('content_block_delta', textDelta('One'));
  stream.event('message_delta', { type: 'message_delta', delta: { stop_reason: stopReason }, usage: { output_tokens: 1 } });
  stream.event('message_stop', { type: 'message_stop' });
  response.end();
}

describe('Anthropic backend: streamed chat', () => {
  it('translates the event stream into OpenAI chunks and ends with one usage chunk', async () => {
    // Prepare
    provider.answer((_request, response) => {
      const stream = startEventStream(response);
      stream.event('message_start', messageStart);
      stream.event('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
      stream.event('ping', { type: 'ping' });
      stream.event('content_block_delta', textDelta('One,'));
      stream.event('content_block_delta', textDelta(' two.'));
      stream.event('some_future_event', { type: 'some_future_event', detail: 1 });
      stream.event('content_block_stop', { type: 'content_block_stop', index: 0 });
      stream.event('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 6 } });
      stream.event('message_stop', { type: 'message_stop' });
      response.end();
    });
    // Act
    const chunks = await collect(backend.streamChat(call()));
    // Assess
    const sent = provider.requests.at(-1)!;
    expect(sent.headers.accept).toBe('text/event-stream');
    expect(sent.json).toEqual({ model: 'claude-haiku-4-5', max_tokens: 64, messages: [{ role: 'user', content: [{ type: 'text', text: 'Count to two' }] }], stream: true });
    const base = { id: 'msg_02', object: 'chat.completion.chunk', created: NOW / 1000, model: 'claude-haiku-4-5-20251001' };
    expect(chunks).toEqual([
      { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }], [PROMPT_TOKENS]: 21 },
      { ...base, choices: [{ index: 0, delta: { content: 'One,' }, finish_reason: null }] },
      { ...base, choices: [{ index: 0, delta: { content: ' two.' }, finish_reason: null }] },
      { ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] },
      { ...base, choices: [], usage: { prompt_tokens: 21, completion_tokens: 6, total_tokens: 27 } },
    ]);
  });

  it('streams a tool_use block as OpenAI tool_calls deltas, numbered from 0', async () => {
    // Prepare
    provider.answer((_request, response) => {
      const stream = startEventStream(response);
      stream.event('message_start', messageStart);
      stream.event('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
      stream.event('content_block_delta', textDelta('Checking.'));
      stream.event('content_block_stop', { type: 'content_block_stop', index: 0 });
      stream.event('content_block_start', { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'toolu_9', name: 'get_weather', input: {} } });
      stream.event('content_block_delta', { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"city": ' } });
      stream.event('content_block_delta', { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '"Paris"}' } });
      stream.event('content_block_stop', { type: 'content_block_stop', index: 1 });
      stream.event('message_delta', { type: 'message_delta', delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 30 } });
      stream.event('message_stop', { type: 'message_stop' });
      response.end();
    });
    // Act
    const chunks = await collect(backend.streamChat(call()));
    // Assess
    expect(chunks.map((c) => c.choices[0]?.delta.tool_calls ?? null).filter(Boolean)).toEqual([
      [{ index: 0, id: 'toolu_9', type: 'function', function: { name: 'get_weather', arguments: '' } }],
      [{ index: 0, function: { arguments: '{"city": ' } }],
      [{ index: 0, function: { arguments: '"Paris"}' } }],
    ]);
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('tool_calls');
  });

  it('finishes a stream whose message_delta usage holds nulls, keeping the counts from message_start', async () => {
    // Prepare: Anthropic's types declare every message_delta count as number | null.
    provider.answer((_request, response) => {
      const stream = startEventStream(response);
      stream.event('message_start', messageStart);
      stream.event('content_block_delta', textDelta('Hello there.'));
      stream.event('message_delta', {
        type: 'message_delta',
        delta: { stop_reason: 'end_turn', stop_sequence: null },
        usage: { input_tokens: null, cache_creation_input_tokens: null, cache_read_input_tokens: null, output_tokens: 4, server_tool_use: null },
      });
      stream.event('message_stop', { type: 'message_stop' });
      response.end();
    });
    // Act
    const chunks = await collect(backend.streamChat(call()));
    // Assess
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('stop');
    expect(chunks.at(-1)?.usage).toEqual({ prompt_tokens: 21, completion_tokens: 4, total_tokens: 25 });
  });

  it('streams "{}" as the arguments of a tool called without parameters, as the whole answer gives them', async () => {
    // Prepare: for a tool without parameters Anthropic streams one input_json_delta with no JSON.
    const tools = [{ type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: {} } } }];
    const toolUse = { type: 'tool_use', id: 'toolu_1', name: 'get_time', input: {} };
    provider.answer((_request, response) => {
      const stream = startEventStream(response);
      stream.event('message_start', messageStart);
      stream.event('content_block_start', { type: 'content_block_start', index: 0, content_block: toolUse });
      stream.event('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '' } });
      stream.event('content_block_stop', { type: 'content_block_stop', index: 0 });
      stream.event('message_delta', { type: 'message_delta', delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 10 } });
      stream.event('message_stop', { type: 'message_stop' });
      response.end();
    });
    const streamed = await collect(backend.streamChat({ ...call(), input: { ...call().input, tools } }));
    provider.answer((_request, response) =>
      sendJson(response, 200, { ...messageStart.message, content: [toolUse], stop_reason: 'tool_use', usage: { input_tokens: 21, output_tokens: 10 } }),
    );
    // Act
    const whole = await backend.chat({ ...call(), input: { model: 'chat-endpoint', messages: call().input.messages, tools } });
    // Assess
    type ToolCall = { function: { arguments?: string } };
    const streamedArguments = streamed
      .flatMap((c) => (c.choices[0]?.delta.tool_calls ?? []) as ToolCall[])
      .map((toolCall) => toolCall.function.arguments ?? '')
      .join('');
    const wholeArguments = (whole.choices[0]?.message.tool_calls as ToolCall[])[0]?.function.arguments;
    expect(streamedArguments).toBe('{}');
    expect(wholeArguments).toBe(streamedArguments);
  });

  it('leaves the connection for the next call once a stream has ended with message_stop', () =>
    expectFinishedStreamsToShareOneConnection(provider, (response) => sendOneWordAnswer(response, 'end_turn'), () => backend.streamChat(call())));

  it('reports max_tokens as finish_reason length', async () => {
    provider.answer((_request, response) => sendOneWordAnswer(response, 'max_tokens'));
    const chunks = await collect(backend.streamChat(call()));
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('length');
  });

  it('throws an error status from the first next(), before any chunk', async () => {
    provider.answer((_request, response) => sendJson(response, 529, { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }));
    const error = await failureOf(backend.streamChat(call())[Symbol.asyncIterator]().next());
    expect([error.statusCode, error.code]).toEqual([503, 'BACKEND_THROTTLED']);
  });

  it('throws an error event sent after the answer began from a later next()', async () => {
    // Prepare
    provider.answer((_request, response) => {
      const stream = startEventStream(response);
      stream.event('message_start', messageStart);
      stream.event('content_block_delta', textDelta('One'));
      stream.event('error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
      response.end();
    });
    const stream = backend.streamChat(call())[Symbol.asyncIterator]();
    // Act
    const role = await stream.next();
    const text = await stream.next();
    const error = await failureOf(stream.next());
    // Assess
    expect(role.value).toMatchObject({ choices: [{ delta: { role: 'assistant' } }] });
    expect(text.value).toMatchObject({ choices: [{ delta: { content: 'One' } }] });
    expect([error.statusCode, error.code]).toEqual([503, 'BACKEND_THROTTLED']);
  });

  it('gives the prompt\'s exact count, cached tokens included, on its first chunk, for a stream that fails before its usage chunk', async () => {
    // Prepare
    provider.answer((_request, response) => {
      const stream = startEventStream(response);
      stream.event('message_start', { ...messageStart, message: { ...messageStart.message, usage: { input_tokens: 5_000, cache_read_input_tokens: 20_000, output_tokens: 1 } } });
      stream.event('error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
      response.end();
    });
    const stream = backend.streamChat(call())[Symbol.asyncIterator]();
    // Act
    const role = await stream.next();
    await failureOf(stream.next());
    // Assess
    expect((role.value as { [PROMPT_TOKENS]?: number })[PROMPT_TOKENS]).toBe(25_000);
  });

  it('throws from a later next() when the connection breaks after the first chunk', async () => {
    provider.answer((_request, response, raw) => {
      startEventStream(response).event('message_start', messageStart);
      setTimeout(() => raw.socket.destroy(), 50);
    });
    const stream = backend.streamChat(call())[Symbol.asyncIterator]();
    await stream.next();
    const error = await failureOf(stream.next());
    expect([error.statusCode, error.code]).toEqual([503, 'BACKEND_UNAVAILABLE']);
  });

  it('treats a stream that ends before message_stop as an error, not as a finished answer', async () => {
    provider.answer((_request, response) => {
      const stream = startEventStream(response);
      stream.event('message_start', messageStart);
      stream.event('content_block_delta', textDelta('One'));
      response.end();
    });
    const chunks: unknown[] = [];
    const error = await failureOf(
      (async () => {
        for await (const chunk of backend.streamChat(call())) chunks.push(chunk);
      })(),
    );
    expect(chunks).toHaveLength(2);
    expect([error.statusCode, error.code]).toEqual([502, 'BAD_BACKEND_RESPONSE']);
  });

  it.each([
    ['a delta without its index', [messageStart, { type: 'content_block_delta', delta: { type: 'text_delta', text: 'x' } }]],
    ['a delta before message_start', [textDelta('x')]],
  ])('turns %s into a 502 BAD_BACKEND_RESPONSE', async (_case, events: Array<{ type: string }>) => {
    provider.answer((_request, response) => {
      const stream = startEventStream(response);
      for (const event of events) stream.event(event.type, event);
      response.end();
    });
    const error = await failureOf(collect(backend.streamChat(call())));
    expect([error.statusCode, error.code]).toEqual([502, 'BAD_BACKEND_RESPONSE']);
  });

  it('throws a 504 from the waiting next() when the signal aborts mid-stream', async () => {
    provider.answer((_request, response) => {
      startEventStream(response).event('message_start', messageStart);
    });
    const stream = backend.streamChat(call(AbortSignal.timeout(300)))[Symbol.asyncIterator]();
    await stream.next();
    const error = await failureOf(stream.next());
    expect([error.statusCode, error.code]).toEqual([504, 'BACKEND_TIMEOUT']);
  });
});
