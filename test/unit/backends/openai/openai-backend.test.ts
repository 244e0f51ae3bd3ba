import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOpenAiBackend } from '../../../../lib/backends/openai/create-openai-backend';
import { maxAnswerBytes } from '../../../../lib/backends/provider-http/provider-fetch';
import type { OpenAiEntity } from '../../../../lib/core/endpoint-config';
import type { ChatCompletionRequest } from '../../../../lib/core/openai-api';
import { FakeSecretStore } from '../../../fakes/fake-secret-store';
import { everythingSaidBy, refusingUrl, sendJson, startScriptedServer, type ScriptedServer } from '../scripted-server';
import { failureOf } from '../outcomes';

const API_KEY = 'sk-test-0123456789abcdefghij';
const keyRef = { ssmParameter: '/modelgate/openai-key' };

let provider: ScriptedServer;
beforeAll(async () => {
  provider = await startScriptedServer();
});
afterAll(() => provider.close());

function entity(overrides: Partial<OpenAiEntity> = {}): OpenAiEntity {
  return { name: 'gpt-primary', backend: 'openai', model: 'gpt-4o-mini', baseUrl: `${provider.url}/v1`, apiKey: keyRef, weight: 100, fallbacks: [], ...overrides };
}

function setup(secrets = new FakeSecretStore().set(keyRef, API_KEY)) {
  return { backend: createOpenAiBackend({ secrets }), secrets };
}

const chatRequest: ChatCompletionRequest = {
  model: 'chat-endpoint',
  messages: [{ role: 'user', content: 'Say hello' }],
  temperature: 0.2,
  stream_options: { include_usage: true },
};

const chatCompletion = {
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1_700_000_000,
  model: 'gpt-4o-mini-2024-07-18',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Hello!' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 },
};

function call<Input>(input: Input, overrides: { entity?: OpenAiEntity; signal?: AbortSignal } = {}) {
  return { requestId: 'req-1', entity: overrides.entity ?? entity(), input, signal: overrides.signal ?? AbortSignal.timeout(5_000) };
}

describe('OpenAI backend: chat', () => {
  it('sends the caller\'s request to /chat/completions with the entity\'s model and the key as a bearer token', async () => {
    // Prepare
    const { backend, secrets } = setup();
    provider.answer((_request, response) => sendJson(response, 200, chatCompletion));
    // Act
    const answer = await backend.chat(call(chatRequest));
    // Assess
    const sent = provider.requests.at(-1)!;
    expect(sent.method).toBe('POST');
    expect(sent.path).toBe('/v1/chat/completions');
    expect(sent.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(sent.headers['content-type']).toBe('application/json');
    expect(sent.json).toEqual({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello' }], temperature: 0.2, stream: false });
    expect(secrets.reads).toEqual([keyRef]);
    expect(answer).toEqual(chatCompletion);
  });

  it('sends no authorization header for an entity configured without a key', async () => {
    const { backend } = setup();
    provider.answer((_request, response) => sendJson(response, 200, chatCompletion));
    await backend.chat(call(chatRequest, { entity: entity({ apiKey: undefined }) }));
    expect(provider.requests.at(-1)!.headers.authorization).toBeUndefined();
  });

  it('keeps parameters it does not model (tools, seed) for the server to honour', async () => {
    const { backend } = setup();
    provider.answer((_request, response) => sendJson(response, 200, chatCompletion));
    await backend.chat(call({ ...chatRequest, seed: 7, tools: [{ type: 'function', function: { name: 'lookup' } }] }));
    expect(provider.requests.at(-1)!.json).toMatchObject({ seed: 7, tools: [{ type: 'function', function: { name: 'lookup' } }] });
  });
});

describe('OpenAI backend: completions and embeddings', () => {
  it('sends a completion request to /completions and answers the text_completion', async () => {
    // Prepare
    const { backend } = setup();
    const completion = {
      id: 'cmpl-1',
      object: 'text_completion',
      created: 1_700_000_000,
      model: 'gpt-3.5-turbo-instruct',
      choices: [{ index: 0, text: ' world', finish_reason: 'length', logprobs: null }],
      usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
    };
    provider.answer((_request, response) => sendJson(response, 200, completion));
    // Act
    const answer = await backend.complete(call({ model: 'completions-endpoint', prompt: 'hello', max_tokens: 1 }));
    // Assess
    expect(provider.requests.at(-1)!.path).toBe('/v1/completions');
    expect(provider.requests.at(-1)!.json).toEqual({ model: 'gpt-4o-mini', prompt: 'hello', max_tokens: 1, stream: false });
    expect(answer).toEqual(completion);
  });

  it('sends an embeddings request to /embeddings and answers the list of vectors', async () => {
    // Prepare
    const { backend } = setup();
    const embeddings = {
      object: 'list',
      model: 'text-embedding-3-small',
      data: [{ object: 'embedding', index: 0, embedding: [0.1, -0.2] }],
      usage: { prompt_tokens: 2, total_tokens: 2 },
    };
    provider.answer((_request, response) => sendJson(response, 200, embeddings));
    // Act
    const answer = await backend.embed(call({ model: 'embeddings-endpoint', input: 'two words' }, { entity: entity({ model: 'text-embedding-3-small' }) }));
    // Assess
    expect(provider.requests.at(-1)!.path).toBe('/v1/embeddings');
    expect(provider.requests.at(-1)!.json).toEqual({ model: 'text-embedding-3-small', input: 'two words' });
    expect(answer).toEqual(embeddings);
  });
});

describe('OpenAI backend: errors', () => {
  it('turns a 400 into a 400 carrying the provider\'s message, which the caller can act on', async () => {
    // Prepare
    const { backend } = setup();
    provider.answer((_request, response) =>
      sendJson(response, 400, { error: { message: "This model's maximum context length is 128000 tokens.", type: 'invalid_request_error', code: 'context_length_exceeded' } }),
    );
    // Act
    const error = await failureOf(backend.chat(call(chatRequest)));
    // Assess
    expect([error.statusCode, error.code]).toEqual([400, 'MODEL_REJECTED_INPUT']);
    expect(error.message).toContain("maximum context length is 128000 tokens");
  });

  it('turns a TGI-style 422 ({"error": "text"}) into a 400 with that text', async () => {
    const { backend } = setup();
    provider.answer((_request, response) => sendJson(response, 422, { error: 'Input validation error: `inputs` must have less than 2048 tokens', error_type: 'validation' }));
    const error = await failureOf(backend.complete(call({ model: 'c', prompt: 'x' })));
    expect([error.statusCode, error.message]).toEqual([400, 'The model rejected the input (status 422): Input validation error: `inputs` must have less than 2048 tokens']);
  });

  it('bounds the provider\'s message and removes the key should the provider echo it', async () => {
    const { backend } = setup();
    provider.answer((_request, response) => sendJson(response, 400, { error: { message: `bad request from key ${API_KEY}: ${'x'.repeat(5_000)}` } }));
    const error = await failureOf(backend.chat(call(chatRequest)));
    expect(error.message).toContain('bad request from key [redacted]');
    expect(error.message.length).toBeLessThan(600);
    expect(everythingSaidBy(error)).not.toContain(API_KEY);
  });

  it.each([401, 403])('blames modelgate\'s configuration, not the caller, for a %i (refused credentials)', async (status) => {
    // Prepare
    const { backend } = setup();
    provider.answer((_request, response) => sendJson(response, status, { error: { message: `Incorrect API key provided: ${API_KEY}`, type: 'invalid_request_error' } }));
    // Act
    const error = await failureOf(backend.chat(call(chatRequest)));
    // Assess
    expect([error.statusCode, error.code]).toEqual([502, 'BACKEND_REFUSED']);
    expect(error.message).toBe(`The provider behind gpt-primary refused modelgate's credentials (status ${status})`);
    expect(everythingSaidBy(error)).not.toContain(API_KEY);
  });

  it('blames the configuration for a 404 (the provider does not serve the configured model)', async () => {
    const { backend } = setup();
    provider.answer((_request, response) => sendJson(response, 404, { error: { message: 'The model `gpt-5-typo` does not exist', type: 'invalid_request_error' } }));
    const error = await failureOf(backend.chat(call(chatRequest)));
    expect([error.statusCode, error.code]).toEqual([502, 'BACKEND_REFUSED']);
    expect(error.message).not.toContain('gpt-5-typo');
  });

  it.each([
    ['retry-after', '7', '7'],
    ['retry-after-ms', '1500', '2'],
  ])('turns a 429 into a 503 BACKEND_THROTTLED that carries %s as retry-after', async (header, value, expected) => {
    const { backend } = setup();
    provider.answer((_request, response) => sendJson(response, 429, { error: { message: 'Rate limit reached' } }, { [header]: value }));
    const error = await failureOf(backend.chat(call(chatRequest)));
    expect([error.statusCode, error.code, error.headers]).toEqual([503, 'BACKEND_THROTTLED', { 'retry-after': expected }]);
  });

  it('turns a 429 without retry-after into a 503 BACKEND_THROTTLED with no retry-after of its own', async () => {
    const { backend } = setup();
    provider.answer((_request, response) => sendJson(response, 429, { error: { message: 'Rate limit reached' } }));
    const error = await failureOf(backend.chat(call(chatRequest)));
    expect([error.code, error.headers]).toEqual(['BACKEND_THROTTLED', {}]);
  });

  it('turns a 429 insufficient_quota (our account out of credit) into a refusal of our call, not throttling', async () => {
    const { backend } = setup();
    provider.answer((_request, response) =>
      sendJson(response, 429, { error: { message: 'You exceeded your current quota', type: 'insufficient_quota', code: 'insufficient_quota' } }),
    );
    const error = await failureOf(backend.chat(call(chatRequest)));
    expect([error.statusCode, error.code, error.message]).toEqual([502, 'BACKEND_REFUSED', 'The provider behind gpt-primary refused the call (status 429)']);
  });

  it('repeats no markup page from a proxy in front of the provider, only its status', async () => {
    const { backend } = setup();
    provider.answer((_request, response) =>
      response.writeHead(413, { 'content-type': 'text/html' }).end('<html><head><title>413 Request Entity Too Large</title></head><body><center>nginx/1.18.0 (Ubuntu)</center></body></html>'),
    );
    const error = await failureOf(backend.chat(call(chatRequest)));
    expect([error.statusCode, error.message]).toEqual([400, 'The model rejected the input (status 413)']);
  });

  it.each([
    ['usage null', { ...chatCompletion, usage: null }],
    ['a tool-calling message without content', { ...chatCompletion, choices: [{ index: 0, message: { role: 'assistant', tool_calls: [{ id: 't1', type: 'function', function: { name: 'f', arguments: '{}' } }] }, finish_reason: 'tool_calls' }] }],
  ])('takes an answer with %s', async (_case, answer) => {
    const { backend } = setup();
    provider.answer((_request, response) => sendJson(response, 200, answer));
    const reply = await backend.chat(call(chatRequest));
    expect(reply.object).toBe('chat.completion');
  });

  it('says an answer over the size limit is too large (a large embeddings batch), not malformed', async () => {
    const { backend } = setup();
    provider.answer((_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end(Buffer.alloc(maxAnswerBytes + 1, 0x20)));
    const error = await failureOf(backend.embed(call({ model: 'e', input: ['x'] })));
    expect([error.statusCode, error.code]).toEqual([502, 'BAD_BACKEND_RESPONSE']);
    expect(error.message).toBe(`Served entity gpt-primary answered with more than ${maxAnswerBytes} bytes, more than one answer carries; ask for less at a time`);
  });

  it('turns a 500 into a 502 MODEL_ERROR that does not repeat the provider\'s text', async () => {
    const { backend } = setup();
    provider.answer((_request, response) => sendJson(response, 500, { error: { message: 'Traceback: worker 3 crashed', type: 'server_error' } }));
    const error = await failureOf(backend.chat(call(chatRequest)));
    expect([error.statusCode, error.code]).toEqual([502, 'MODEL_ERROR']);
    expect(error.message).toBe('The model behind gpt-primary failed (status 500)');
  });

  it('turns a 503 into a 503 BACKEND_UNAVAILABLE', async () => {
    const { backend } = setup();
    provider.answer((_request, response) => response.writeHead(503, { 'content-type': 'text/html' }).end('<html>Service Unavailable</html>'));
    const error = await failureOf(backend.embed(call({ model: 'e', input: 'x' })));
    expect([error.statusCode, error.code]).toEqual([503, 'BACKEND_UNAVAILABLE']);
  });

  it.each([
    ['a body that is not JSON', (response: import('node:http').ServerResponse) => response.writeHead(200, { 'content-type': 'text/html' }).end('<html>proxy login</html>')],
    ['JSON that is not a chat completion', (response: import('node:http').ServerResponse) => sendJson(response, 200, { id: 'x', object: 'chat.completion', choices: [] })],
  ])('turns %s into a 502 BAD_BACKEND_RESPONSE', async (_case, answer) => {
    const { backend } = setup();
    provider.answer((_request, response) => answer(response));
    const error = await failureOf(backend.chat(call(chatRequest)));
    expect([error.statusCode, error.code]).toEqual([502, 'BAD_BACKEND_RESPONSE']);
  });

  it('gives up with a 504 when the signal aborts before the provider answers', async () => {
    // Prepare
    const { backend } = setup();
    provider.answer((_request, response) => {
      setTimeout(() => sendJson(response, 200, chatCompletion), 2_000).unref();
    });
    const startedAt = performance.now();
    // Act
    const error = await failureOf(backend.chat(call(chatRequest, { signal: AbortSignal.timeout(100) })));
    // Assess
    expect([error.statusCode, error.code]).toEqual([504, 'BACKEND_TIMEOUT']);
    expect(performance.now() - startedAt).toBeLessThan(1_000);
  });

  it('turns a refused connection into a 503 BACKEND_UNAVAILABLE', async () => {
    const { backend } = setup();
    const error = await failureOf(backend.chat(call(chatRequest, { entity: entity({ baseUrl: await refusingUrl() }) })));
    expect([error.statusCode, error.code]).toEqual([503, 'BACKEND_UNAVAILABLE']);
  });

  it('turns a connection the provider drops without answering into a 503 BACKEND_UNAVAILABLE', async () => {
    const { backend } = setup();
    provider.answer((_request, _response, raw) => raw.socket.destroy());
    const error = await failureOf(backend.chat(call(chatRequest)));
    expect([error.statusCode, error.code]).toEqual([503, 'BACKEND_UNAVAILABLE']);
  });

  it('turns an answer whose connection drops halfway through its body into a 503 BACKEND_UNAVAILABLE', async () => {
    const { backend } = setup();
    provider.answer((_request, response, raw) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      response.write('{"id":"chatcmpl-1","object":"chat.');
      setTimeout(() => raw.socket.destroy(), 20);
    });
    const error = await failureOf(backend.chat(call(chatRequest)));
    expect([error.statusCode, error.code]).toEqual([503, 'BACKEND_UNAVAILABLE']);
  });

  it('gives up with a 504 when the signal aborts halfway through the answer\'s body', async () => {
    const { backend } = setup();
    provider.answer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"id":"chatcmpl-1","object":"chat.');
      setTimeout(() => response.end('completion"}'), 2_000).unref();
    });
    const error = await failureOf(backend.chat(call(chatRequest, { signal: AbortSignal.timeout(100) })));
    expect([error.statusCode, error.code]).toEqual([504, 'BACKEND_TIMEOUT']);
  });

  it('reads an answer that arrives in many pieces whole', async () => {
    const { backend } = setup();
    provider.answer((_request, response) => {
      const text = JSON.stringify(chatCompletion);
      response.writeHead(200, { 'content-type': 'application/json' });
      let at = 0;
      const next = () => {
        if (at >= text.length) return void response.end();
        response.write(text.slice(at, at + 7));
        at += 7;
        setImmediate(next);
      };
      next();
    });
    const answer = await backend.chat(call(chatRequest));
    expect(answer.choices[0]?.message.content).toBe(chatCompletion.choices[0]!.message.content);
  });

  it('sends a key the store has cached without reading the store', async () => {
    // Prepare
    const cachedOnly = { read: () => Promise.reject(new Error('the store was read')), cached: () => API_KEY };
    const backend = createOpenAiBackend({ secrets: cachedOnly });
    provider.answer((_request, response) => sendJson(response, 200, chatCompletion));
    // Act
    await backend.chat(call(chatRequest));
    // Assess
    expect(provider.requests.at(-1)!.headers.authorization).toBe(`Bearer ${API_KEY}`);
  });

  it('gives up with a 504 when the key is still being read as the signal aborts', async () => {
    const stalledSecrets = { read: () => new Promise<string>(() => undefined), cached: () => undefined };
    const backend = createOpenAiBackend({ secrets: stalledSecrets });
    const error = await failureOf(backend.chat(call(chatRequest, { signal: AbortSignal.timeout(100) })));
    expect([error.statusCode, error.code]).toEqual([504, 'BACKEND_TIMEOUT']);
  });

  it('turns a key that cannot be read into a 502 naming the entity, without calling the provider', async () => {
    // Prepare
    const { backend } = setup(new FakeSecretStore());
    const before = provider.requests.length;
    // Act
    const error = await failureOf(backend.chat(call(chatRequest)));
    // Assess
    expect([error.statusCode, error.code, error.message]).toEqual([502, 'MODEL_ERROR', 'The API key of served entity gpt-primary could not be read']);
    expect(provider.requests.length).toBe(before);
  });
});
