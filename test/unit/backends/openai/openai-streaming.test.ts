import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOpenAiBackend } from '../../../../lib/backends/openai/create-openai-backend';
import type { OpenAiEntity } from '../../../../lib/core/endpoint-config';
import type { ChatCompletionRequest } from '../../../../lib/core/openai-api';
import { FakeSecretStore } from '../../../fakes/fake-secret-store';
import { everythingSaidBy, sendJson, startEventStream, startScriptedServer, type ScriptedServer } from '../scripted-server';
import { collect, failureOf } from '../outcomes';
import { expectFinishedStreamsToShareOneConnection } from '../connection-reuse';

const API_KEY = 'sk-stream-0123456789abcdefghij';
const keyRef = { secretsManager: 'modelgate/openai' };

let provider: ScriptedServer;
beforeAll(async () => {
  provider = await startScriptedServer();
});
afterAll(() => provider.close());

const entity = (): OpenAiEntity => ({
  name: 'vllm-llama',
  backend: 'openai',
  model: 'meta-llama/Llama-3.1-8B-Instruct',
  baseUrl: `${provider.url}/v1`,
  apiKey: keyRef,
  weight: 100,
  fallbacks: [],
});
const backend = createOpenAiBackend({ secrets: new FakeSecretStore().set(keyRef, API_KEY) });
const request: ChatCompletionRequest = { model: 'chat-endpoint', messages: [{ role: 'user', content: 'Count to two' }], stream: true };
const call = (signal: AbortSignal = AbortSignal.timeout(5_000)) => ({ requestId: 'req-2', entity: entity(), input: request, signal });

function chunk(content: string | null, extra: Record<string, unknown> = {}) {
  return {
    id: 'chatcmpl-9',
    object: 'chat.completion.chunk',
    created: 1_700_000_000,
    model: 'meta-llama/Llama-3.1-8B-Instruct',
    choices: [{ index: 0, delta: content === null ? {} : { content }, finish_reason: content === null ? 'stop' : null }],
    ...extra,
  };
}
const usage = { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 };

describe('OpenAI backend: streamed chat', () => {
  it('asks for a stream with usage, yields the chunks and ends with one usage chunk without choices', async () => {
    // Prepare
    provider.answer((_request, response) => {
      const stream = startEventStream(response);
      stream.data(chunk('One', { usage: null }));
      stream.data(chunk(', two', { usage: null }));
      stream.data(chunk(null, { usage: null }));
      stream.data({ ...chunk(null), choices: [], usage });
      stream.data('[DONE]');
      response.end();
    });
    // Act
    const chunks = await collect(backend.streamChat(call()));
    // Assess
    const sent = provider.requests.at(-1)!;
    expect(sent.path).toBe('/v1/chat/completions');
    expect(sent.headers.accept).toBe('text/event-stream');
    expect(sent.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(sent.json).toMatchObject({ model: 'meta-llama/Llama-3.1-8B-Instruct', stream: true, stream_options: { include_usage: true } });
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? null)).toEqual(['One', ', two', null, null]);
    expect(chunks.slice(0, 3).every((c) => !('usage' in c))).toBe(true);
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage });
  });

  it('leaves the connection for the next call once a stream has ended with [DONE], as a JSON call does', () =>
    expectFinishedStreamsToShareOneConnection(
      provider,
      (response) => {
        response.writeHead(200, { 'content-type': 'text/event-stream' });
        response.end(`data: ${JSON.stringify(chunk('One'))}\n\ndata: ${JSON.stringify(chunk(null))}\n\ndata: [DONE]\n\n`);
      },
      () => backend.streamChat(call()),
    ));

  it('ends a stream at [DONE] even when the server keeps its body open, and closes that connection soon after', async () => {
    // Prepare
    let closed: Promise<void> | undefined;
    provider.answer((_request, response, raw) => {
      closed = new Promise((resolve) => raw.socket.once('close', () => resolve()));
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write(`data: ${JSON.stringify(chunk('One'))}\n\ndata: [DONE]\n\n`);
    });
    // Act
    const startedAt = performance.now();
    const chunks = await collect(backend.streamChat(call()));
    const tookMs = performance.now() - startedAt;
    // Assess
    expect(chunks).toHaveLength(1);
    expect(tookMs).toBeLessThan(500);
    await closed;
  });

  it('yields no usage chunk when the server reports no usage', async () => {
    provider.answer((_request, response) => {
      const stream = startEventStream(response);
      stream.data(chunk('Hi'));
      stream.data(chunk(null));
      stream.data('[DONE]');
      response.end();
    });
    const chunks = await collect(backend.streamChat(call()));
    expect(chunks.map((c) => c.choices.length)).toEqual([1, 1]);
    expect(chunks.some((c) => c.usage)).toBe(false);
  });

  it('moves usage reported on the last content chunk into a usage chunk of its own', async () => {
    provider.answer((_request, response) => {
      const stream = startEventStream(response);
      stream.data(chunk('Hi'));
      stream.data(chunk(null, { usage }));
      stream.data('[DONE]');
      response.end();
    });
    const chunks = await collect(backend.streamChat(call()));
    expect(chunks).toHaveLength(3);
    expect(chunks[1]).toMatchObject({ choices: [{ finish_reason: 'stop' }] });
    expect(chunks[1]).not.toHaveProperty('usage');
    expect(chunks[2]).toMatchObject({ choices: [], usage });
  });

  it('reads events however the bytes are split and whatever the line endings', async () => {
    provider.answer(async (_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      const text = `: keep-alive\r\n\r\ndata: ${JSON.stringify(chunk('Hé'))}\r\n\r\ndata: [DONE]\r\n\r\n`;
      for (const byte of Buffer.from(text)) {
        response.write(Buffer.from([byte]));
      }
      response.end();
    });
    const chunks = await collect(backend.streamChat(call()));
    expect(chunks.map((c) => c.choices[0]?.delta.content)).toEqual(['Hé']);
  });

  it('throws the provider\'s refusal from the first next(), before any chunk', async () => {
    provider.answer((_request, response) => sendJson(response, 429, { error: { message: 'slow down' } }, { 'retry-after': '3' }));
    const stream = backend.streamChat(call())[Symbol.asyncIterator]();
    const error = await failureOf(stream.next());
    expect([error.statusCode, error.code, error.headers]).toEqual([503, 'BACKEND_THROTTLED', { 'retry-after': '3' }]);
  });

  it('throws from a later next() when the connection breaks after the first chunk', async () => {
    // Prepare
    provider.answer((_request, response, raw) => {
      const stream = startEventStream(response);
      stream.data(chunk('One'));
      setTimeout(() => raw.socket.destroy(), 50);
    });
    const stream = backend.streamChat(call())[Symbol.asyncIterator]();
    // Act
    const first = await stream.next();
    const error = await failureOf(stream.next());
    // Assess
    expect(first.value).toMatchObject({ choices: [{ delta: { content: 'One' } }] });
    expect([error.statusCode, error.code]).toEqual([503, 'BACKEND_UNAVAILABLE']);
  });

  it('treats a stream that ends without [DONE] as an error, not as a finished answer', async () => {
    provider.answer((_request, response) => {
      startEventStream(response).data(chunk('One'));
      response.end();
    });
    const stream = backend.streamChat(call())[Symbol.asyncIterator]();
    await stream.next();
    const error = await failureOf(stream.next());
    expect([error.statusCode, error.code]).toEqual([502, 'BAD_BACKEND_RESPONSE']);
  });

  it.each([
    ['not JSON', '{"id": "chatcmpl-9", "choices": [ oops'],
    ['not a chunk', JSON.stringify({ id: 'chatcmpl-9', object: 'chat.completion', choices: 'none' })],
  ])('turns a chunk that is %s into a 502 BAD_BACKEND_RESPONSE', async (_case, payload) => {
    provider.answer((_request, response) => {
      const stream = startEventStream(response);
      stream.data(chunk('One'));
      stream.data(payload);
      stream.data('[DONE]');
      response.end();
    });
    const stream = backend.streamChat(call())[Symbol.asyncIterator]();
    await stream.next();
    const error = await failureOf(stream.next());
    expect([error.statusCode, error.code]).toEqual([502, 'BAD_BACKEND_RESPONSE']);
  });

  it('throws an error event sent mid-stream as the provider\'s failure, without the key it echoes', async () => {
    provider.answer((_request, response) => {
      const stream = startEventStream(response);
      stream.data(chunk('One'));
      stream.data({ error: { message: `engine died for ${API_KEY}`, type: 'server_error', code: null } });
      response.end();
    });
    const stream = backend.streamChat(call())[Symbol.asyncIterator]();
    await stream.next();
    const error = await failureOf(stream.next());
    expect([error.statusCode, error.code]).toEqual([502, 'MODEL_ERROR']);
    expect(everythingSaidBy(error)).not.toContain(API_KEY);
  });

  it('throws a 504 from the next() that is waiting when the signal aborts mid-stream', async () => {
    // Prepare
    provider.answer((_request, response) => {
      startEventStream(response).data(chunk('One'));
      // ...and then nothing, as a stalled generation would.
    });
    const stream = backend.streamChat(call(AbortSignal.timeout(300)))[Symbol.asyncIterator]();
    // Act
    await stream.next();
    const error = await failureOf(stream.next());
    // Assess
    expect([error.statusCode, error.code]).toEqual([504, 'BACKEND_TIMEOUT']);
  });

  it('closes the connection when the consumer stops reading early', async () => {
    // Prepare
    let closed!: () => void;
    const connectionClosed = new Promise<void>((resolve) => (closed = resolve));
    provider.answer((_request, response) => {
      const stream = startEventStream(response);
      stream.data(chunk('One'));
      response.once('close', closed);
      // Never ends on its own.
    });
    // Act
    for await (const _chunk of backend.streamChat(call())) break;
    // Assess
    await expect(connectionClosed).resolves.toBeUndefined();
  });
});

describe('OpenAI backend: streamed completions', () => {
  it('streams text_completion chunks from /completions and ends with the usage', async () => {
    // Prepare
    const piece = (text: string) => ({ id: 'cmpl-2', object: 'text_completion', created: 1, model: 'm', choices: [{ index: 0, text, finish_reason: null }] });
    provider.answer((_request, response) => {
      const stream = startEventStream(response);
      stream.data(piece(' to'));
      stream.data(piece(' be'));
      stream.data({ ...piece(''), choices: [], usage: { prompt_tokens: 4, completion_tokens: 2, total_tokens: 6 } });
      stream.data('[DONE]');
      response.end();
    });
    // Act
    const chunks = await collect(
      backend.streamComplete({ requestId: 'req-3', entity: entity(), input: { model: 'c', prompt: 'To be or not', stream: true }, signal: AbortSignal.timeout(5_000) }),
    );
    // Assess
    expect(provider.requests.at(-1)!.path).toBe('/v1/completions');
    expect(provider.requests.at(-1)!.json).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    expect(chunks.map((c) => c.choices[0]?.text ?? null)).toEqual([' to', ' be', null]);
    expect(chunks.at(-1)?.usage).toEqual({ prompt_tokens: 4, completion_tokens: 2, total_tokens: 6 });
  });
});
