import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAnthropicBackend } from '../../../../lib/backends/anthropic/create-anthropic-backend';
import type { AnthropicEntity } from '../../../../lib/core/endpoint-config';
import type { ChatCompletionRequest } from '../../../../lib/core/openai-api';
import { FakeSecretStore } from '../../../fakes/fake-secret-store';
import { everythingSaidBy, refusingUrl, sendJson, startScriptedServer, type ScriptedServer } from '../scripted-server';
import { failureOf } from '../outcomes';

const API_KEY = 'sk-ant-api03-test-0123456789abcdef';
const keyRef = { secretsManager: 'modelgate/anthropic' };
const NOW = 1_767_225_600_000;

let provider: ScriptedServer;
beforeAll(async () => {
  provider = await startScriptedServer();
});
afterAll(() => provider.close());

const entity = (overrides: Partial<AnthropicEntity> = {}): AnthropicEntity => ({
  name: 'claude-fallback',
  backend: 'anthropic',
  model: 'claude-haiku-4-5',
  baseUrl: provider.url,
  apiKey: keyRef,
  defaultMaxTokens: 256,
  weight: 0,
  fallbacks: [],
  ...overrides,
});

function setup(secrets = new FakeSecretStore().set(keyRef, API_KEY)) {
  return createAnthropicBackend({ secrets, now: () => NOW });
}

const request: ChatCompletionRequest = {
  model: 'chat-endpoint',
  messages: [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'Hello?' },
  ],
  max_tokens: 100,
  stop: ['\n\n'],
};

const call = (overrides: { entity?: AnthropicEntity; signal?: AbortSignal; input?: ChatCompletionRequest } = {}) => ({
  requestId: 'req-a',
  entity: overrides.entity ?? entity(),
  input: overrides.input ?? request,
  signal: overrides.signal ?? AbortSignal.timeout(5_000),
});

function message(fields: Record<string, unknown> = {}) {
  return {
    id: 'msg_01',
    type: 'message',
    role: 'assistant',
    model: 'claude-haiku-4-5-20251001',
    content: [
      { type: 'text', text: 'Hello' },
      { type: 'text', text: ' there.' },
    ],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: 14, output_tokens: 4 },
    ...fields,
  };
}

describe('Anthropic backend: chat', () => {
  it('sends a Messages request with the key in x-api-key and the API version, and answers a chat.completion', async () => {
    // Prepare
    const backend = setup();
    provider.answer((_request, response) => sendJson(response, 200, message()));
    // Act
    const answer = await backend.chat(call());
    // Assess
    const sent = provider.requests.at(-1)!;
    expect([sent.method, sent.path]).toEqual(['POST', '/v1/messages']);
    expect(sent.headers['x-api-key']).toBe(API_KEY);
    expect(sent.headers['anthropic-version']).toBe('2023-06-01');
    expect(sent.headers.authorization).toBeUndefined();
    expect(sent.json).toEqual({
      model: 'claude-haiku-4-5',
      max_tokens: 100,
      system: 'Be brief.',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Hello?' }] }],
      stop_sequences: ['\n\n'],
    });
    expect(answer).toEqual({
      id: 'msg_01',
      object: 'chat.completion',
      created: NOW / 1000,
      model: 'claude-haiku-4-5-20251001',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hello there.' }, finish_reason: 'stop', logprobs: null }],
      usage: { prompt_tokens: 14, completion_tokens: 4, total_tokens: 18 },
    });
  });

  it.each([
    ['end_turn', 'stop'],
    ['stop_sequence', 'stop'],
    ['max_tokens', 'length'],
    ['tool_use', 'tool_calls'],
    ['refusal', 'content_filter'],
    ['constructor', 'stop'],
  ])('reports stop_reason %s as finish_reason %s', async (stopReason, expected) => {
    const backend = setup();
    provider.answer((_request, response) => sendJson(response, 200, message({ stop_reason: stopReason })));
    const answer = await backend.chat(call());
    expect(answer.choices[0]?.finish_reason).toBe(expected);
  });

  it('counts cached prompt tokens into prompt_tokens, as OpenAI does', async () => {
    const backend = setup();
    provider.answer((_request, response) =>
      sendJson(response, 200, message({ usage: { input_tokens: 10, output_tokens: 5, cache_creation_input_tokens: 100, cache_read_input_tokens: 1000 } })),
    );
    const answer = await backend.chat(call());
    expect(answer.usage).toEqual({ prompt_tokens: 1110, completion_tokens: 5, total_tokens: 1115, prompt_tokens_details: { cached_tokens: 1000 } });
  });

  it('answers tool_use blocks as OpenAI tool_calls with the input as an arguments string', async () => {
    // Prepare
    const backend = setup();
    provider.answer((_request, response) =>
      sendJson(
        response,
        200,
        message({
          content: [
            { type: 'text', text: 'Let me check.' },
            { type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { city: 'Paris' } },
          ],
          stop_reason: 'tool_use',
        }),
      ),
    );
    const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
    // Act
    const answer = await backend.chat(call({ input: { ...request, tools } }));
    // Assess
    expect(provider.requests.at(-1)!.json.tools).toEqual([{ name: 'get_weather', input_schema: tools[0]!.function.parameters }]);
    expect(answer.choices[0]).toEqual({
      index: 0,
      message: {
        role: 'assistant',
        content: 'Let me check.',
        tool_calls: [{ id: 'toolu_01', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
      },
      finish_reason: 'tool_calls',
      logprobs: null,
    });
  });

  it('refuses a request it cannot translate with a 400, without calling Anthropic', async () => {
    const backend = setup();
    const before = provider.requests.length;
    const error = await failureOf(backend.chat(call({ input: { ...request, logprobs: true } })));
    expect([error.statusCode, error.message]).toEqual([400, "logprobs: this parameter is not supported by this endpoint's model"]);
    expect(provider.requests.length).toBe(before);
  });
});

describe('Anthropic backend: errors', () => {
  const anthropicError = (type: string, text: string) => ({ type: 'error', error: { type, message: text }, request_id: 'req_011' });

  it('turns invalid_request_error into a 400 carrying Anthropic\'s message', async () => {
    const backend = setup();
    provider.answer((_request, response) => sendJson(response, 400, anthropicError('invalid_request_error', 'messages: text content blocks must be non-empty')));
    const error = await failureOf(backend.chat(call()));
    expect([error.statusCode, error.code, error.message]).toEqual([
      400,
      'MODEL_REJECTED_INPUT',
      'The model rejected the input (status 400): messages: text content blocks must be non-empty',
    ]);
  });

  it.each([
    [529, 'overloaded_error', 503, 'BACKEND_THROTTLED'],
    [429, 'rate_limit_error', 503, 'BACKEND_THROTTLED'],
    [500, 'api_error', 502, 'MODEL_ERROR'],
    [401, 'authentication_error', 502, 'BACKEND_REFUSED'],
    [403, 'permission_error', 502, 'BACKEND_REFUSED'],
    [404, 'not_found_error', 502, 'BACKEND_REFUSED'],
    [413, 'request_too_large', 400, 'MODEL_REJECTED_INPUT'],
    [500, 'constructor', 502, 'MODEL_ERROR'],
  ])('turns a %i %s into %i %s', async (status, type, expectedStatus, expectedCode) => {
    const backend = setup();
    provider.answer((_request, response) => sendJson(response, status, anthropicError(type, `failure of type ${type}`)));
    const error = await failureOf(backend.chat(call()));
    expect([error.statusCode, error.code]).toEqual([expectedStatus, expectedCode]);
  });

  it('carries retry-after from a 429', async () => {
    const backend = setup();
    provider.answer((_request, response) => sendJson(response, 429, anthropicError('rate_limit_error', 'Number of request tokens has exceeded your per-minute rate limit'), { 'retry-after': '12' }));
    const error = await failureOf(backend.chat(call()));
    expect(error.headers).toEqual({ 'retry-after': '12' });
  });

  it('blames modelgate\'s credentials for authentication_error and never repeats the key', async () => {
    const backend = setup();
    provider.answer((_request, response) => sendJson(response, 401, anthropicError('authentication_error', `invalid x-api-key ${API_KEY}`)));
    const error = await failureOf(backend.chat(call()));
    expect(error.message).toBe("The provider behind claude-fallback refused modelgate's credentials (status 401)");
    expect(everythingSaidBy(error)).not.toContain(API_KEY);
  });

  it('does not follow a redirect, so the key never reaches the host it points to', async () => {
    // Prepare
    const elsewhere = await startScriptedServer((_request, response) => sendJson(response, 200, message()));
    const backend = setup();
    provider.answer((_request, response) => response.writeHead(307, { location: `${elsewhere.url}/v1/messages` }).end());
    // Act
    const error = await failureOf(backend.chat(call()));
    await elsewhere.close();
    // Assess
    expect([error.statusCode, error.code]).toEqual([502, 'BACKEND_REFUSED']);
    expect(elsewhere.requests).toHaveLength(0);
  });

  it('reads a 529 without Anthropic\'s error body as throttling too', async () => {
    const backend = setup();
    provider.answer((_request, response) => response.writeHead(529).end('Overloaded'));
    const error = await failureOf(backend.chat(call()));
    expect(error.code).toBe('BACKEND_THROTTLED');
  });

  it.each([
    ['a body that is not JSON', 'upstream connect error'],
    ['JSON that is not a message', JSON.stringify({ id: 'msg_01', type: 'message', content: 'Hello' })],
  ])('turns %s into a 502 BAD_BACKEND_RESPONSE', async (_case, body) => {
    const backend = setup();
    provider.answer((_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end(body));
    const error = await failureOf(backend.chat(call()));
    expect([error.statusCode, error.code]).toEqual([502, 'BAD_BACKEND_RESPONSE']);
  });

  it('gives up with a 504 when the signal aborts first', async () => {
    const backend = setup();
    provider.answer((_request, response) => {
      setTimeout(() => sendJson(response, 200, message()), 2_000).unref();
    });
    const error = await failureOf(backend.chat(call({ signal: AbortSignal.timeout(100) })));
    expect([error.statusCode, error.code]).toEqual([504, 'BACKEND_TIMEOUT']);
  });

  it('turns a refused connection into a 503 BACKEND_UNAVAILABLE', async () => {
    const backend = setup();
    const error = await failureOf(backend.chat(call({ entity: entity({ baseUrl: await refusingUrl() }) })));
    expect([error.statusCode, error.code]).toEqual([503, 'BACKEND_UNAVAILABLE']);
  });
});
