import { describe, expect, it } from 'vitest';
import { toMessagesRequest } from '../../../../lib/backends/anthropic/to-messages-request';
import type { AnthropicEntity } from '../../../../lib/core/endpoint-config';
import type { ChatCompletionRequest } from '../../../../lib/core/openai-api';

const entity: AnthropicEntity = {
  name: 'claude',
  backend: 'anthropic',
  model: 'claude-sonnet-4-5',
  baseUrl: 'https://api.anthropic.com',
  apiKey: { ssmParameter: '/modelgate/anthropic' },
  defaultMaxTokens: 1024,
  weight: 100,
  fallbacks: [],
};

const request = (fields: Partial<ChatCompletionRequest> & Record<string, unknown>): ChatCompletionRequest => ({
  model: 'chat-endpoint',
  messages: [{ role: 'user', content: 'Hi' }],
  ...fields,
});

function refusal(input: ChatCompletionRequest): { status: number; message: string } {
  try {
    toMessagesRequest(input, entity);
  } catch (error) {
    const { statusCode, message } = error as { statusCode: number; message: string };
    return { status: statusCode, message };
  }
  throw new Error('expected the request to be refused');
}

describe('toMessagesRequest', () => {
  it('moves system and developer messages into system and keeps user and assistant turns in order', () => {
    // Prepare
    const input = request({
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello.' },
        { role: 'developer', content: [{ type: 'text', text: 'Answer in French.' }] },
        { role: 'user', content: 'Thanks' },
      ],
    });
    // Act
    const translated = toMessagesRequest(input, entity);
    // Assess
    expect(translated).toEqual({
      model: 'claude-sonnet-4-5',
      max_tokens: 1024,
      system: 'You are terse.\n\nAnswer in French.',
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'Hi' }] },
        { role: 'assistant', content: [{ type: 'text', text: 'Hello.' }] },
        { role: 'user', content: [{ type: 'text', text: 'Thanks' }] },
      ],
    });
  });

  it('merges consecutive messages of the same role into one turn, as Anthropic\'s alternation needs', () => {
    const translated = toMessagesRequest(
      request({ messages: [{ role: 'user', content: 'First' }, { role: 'user', content: [{ type: 'text', text: 'Second' }] }] }),
      entity,
    );
    expect(translated.messages).toEqual([{ role: 'user', content: [{ type: 'text', text: 'First' }, { type: 'text', text: 'Second' }] }]);
  });

  it('turns a base64 data: image into an image block', () => {
    const translated = toMessagesRequest(
      request({
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'What is this?' },
              { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
            ],
          },
        ],
      }),
      entity,
    );
    expect(translated.messages[0]?.content[1]).toEqual({ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } });
  });

  it.each([
    ['an https image URL', 'https://example.com/cat.png', 'messages[0].content[0].image_url.url: only base64 data: URLs'],
    ['an image type Anthropic does not read', 'data:image/tiff;base64,AAAA', 'image type image/tiff is not accepted'],
  ])('refuses %s with a 400 naming the part', (_case, url, expected) => {
    const refused = refusal(request({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url } }] }] }));
    expect(refused.status).toBe(400);
    expect(refused.message).toContain(expected);
  });

  it.each([
    [{ max_tokens: 50, max_completion_tokens: 60 }, 50],
    [{ max_completion_tokens: 60 }, 60],
    [{}, 1024],
  ])('takes max_tokens from %j, else the entity\'s default', (fields, expected) => {
    expect(toMessagesRequest(request(fields), entity).max_tokens).toBe(expected);
  });

  it('carries temperature and top_p, stop as stop_sequences and user as metadata.user_id', () => {
    const translated = toMessagesRequest(request({ temperature: 0.3, top_p: 0.9, stop: 'END', user: 'tenant-7' }), entity);
    expect(translated).toMatchObject({ temperature: 0.3, top_p: 0.9, stop_sequences: ['END'], metadata: { user_id: 'tenant-7' } });
    expect(toMessagesRequest(request({ stop: ['a', 'b'] }), entity).stop_sequences).toEqual(['a', 'b']);
  });

  it('drops parameters whose absence changes nothing in the answer (seed, store, defaults)', () => {
    const translated = toMessagesRequest(
      request({ seed: 1, store: false, logprobs: false, presence_penalty: 0, response_format: { type: 'text' }, stream_options: { include_usage: true } }),
      entity,
    );
    expect(Object.keys(translated).sort()).toEqual(['max_tokens', 'messages', 'model']);
  });

  it.each([
    ['tools[0]', { tools: [{ type: 'custom', custom: { name: 'f' } }] }],
    ['logprobs', { logprobs: true }],
    ['top_logprobs', { top_logprobs: 2 }],
    ['presence_penalty', { presence_penalty: 0.5 }],
    ['logit_bias', { logit_bias: { '50256': -100 } }],
    ['response_format', { response_format: { type: 'json_object' } }],
    ['some_new_option', { some_new_option: true }],
    // Names an object literal's lookup would find on Object.prototype.
    ['__proto__', JSON.parse('{"__proto__": {}}') as Record<string, unknown>],
    ['constructor', { constructor: 1 }],
    ['toString', { toString: 'x' }],
  ])('refuses %s with a 400 naming it rather than answering without it', (field, fields) => {
    const refused = refusal(request(fields));
    expect(refused.status).toBe(400);
    expect(refused.message.slice(0, field.length + 2)).toBe(`${field}: `);
  });

  it('refuses a temperature above Anthropic\'s range instead of silently changing it', () => {
    expect(refusal(request({ temperature: 1.5 })).message).toBe("temperature: this endpoint's model accepts 0 to 1, not 1.5");
  });

  it('translates function tools, tool_choice and parallel_tool_calls', () => {
    // Prepare
    const weather = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
    const input = request({
      tools: [
        { type: 'function', function: { name: 'get_weather', description: 'Current weather', parameters: weather } },
        { type: 'function', function: { name: 'now' } },
      ],
      tool_choice: 'required',
      parallel_tool_calls: false,
    });
    // Act
    const translated = toMessagesRequest(input, entity);
    // Assess
    expect(translated.tools).toEqual([
      { name: 'get_weather', description: 'Current weather', input_schema: weather },
      { name: 'now', input_schema: { type: 'object', properties: {} } },
    ]);
    expect(translated.tool_choice).toEqual({ type: 'any', disable_parallel_tool_use: true });
  });

  it.each([
    ['none', { type: 'none' }],
    ['auto', { type: 'auto' }],
    [{ type: 'function', function: { name: 'now' } }, { type: 'tool', name: 'now' }],
  ])('maps tool_choice %j to %j', (choice, expected) => {
    const translated = toMessagesRequest(request({ tools: [{ type: 'function', function: { name: 'now' } }], tool_choice: choice }), entity);
    expect(translated.tool_choice).toEqual(expected);
  });

  it('turns an assistant\'s tool calls into tool_use blocks and tool messages into tool_result blocks of a user turn', () => {
    // Prepare
    const input = request({
      messages: [
        { role: 'user', content: 'Weather in Paris and Rome?' },
        {
          role: 'assistant',
          content: 'Checking.',
          tool_calls: [
            { id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
            { id: 'toolu_2', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'toolu_1', content: '18 C' },
        { role: 'tool', tool_call_id: 'toolu_2', content: [{ type: 'text', text: '24 C' }] },
      ],
    });
    // Act
    const translated = toMessagesRequest(input, entity);
    // Assess
    expect(translated.messages.slice(1)).toEqual([
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Checking.' },
          { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
          { type: 'tool_use', id: 'toolu_2', name: 'get_weather', input: { city: 'Rome' } },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: '18 C' }] },
          { type: 'tool_result', tool_use_id: 'toolu_2', content: [{ type: 'text', text: '24 C' }] },
        ],
      },
    ]);
  });

  it.each([
    ['arguments that are not a JSON object', { role: 'assistant', content: null, tool_calls: [{ id: 't', type: 'function', function: { name: 'f', arguments: '[1' } }] }, 'messages[1].tool_calls[0].function.arguments: '],
    ['a tool message without tool_call_id', { role: 'tool', content: '42' }, 'messages[1].tool_call_id: '],
    ['a field a message cannot carry', { role: 'user', content: 'x', audio: { id: 'a' } }, 'messages[1].audio: '],
    ['a refusal that is not text', { role: 'assistant', content: null, refusal: { reason: 'policy' } }, 'messages[1].refusal: '],
  ])('refuses %s, naming the field', (_case, message, expected) => {
    const refused = refusal(request({ messages: [{ role: 'user', content: 'Hi' }, message as ChatCompletionRequest['messages'][number]] }));
    expect(refused.status).toBe(400);
    expect(refused.message.slice(0, expected.length)).toBe(expected);
  });

  it.each([
    ['an empty string', ''],
    ['only whitespace', '\n\n'],
    ['an empty text part', [{ type: 'text' as const, text: '' }]],
  ])('sends an assistant tool-call message whose content is %s as its tool_use blocks alone', (_case, content) => {
    // Prepare
    const input = request({
      messages: [
        { role: 'user', content: 'What time is it?' },
        { role: 'assistant', content, tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'now', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 'toolu_1', content: '10:00' },
      ],
    });
    // Act
    const translated = toMessagesRequest(input, entity);
    // Assess
    expect(translated.messages[1]).toEqual({ role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'now', input: {} }] });
  });

  it('sends an empty tool result as a tool_result without content, since Anthropic refuses empty text', () => {
    const translated = toMessagesRequest(
      request({
        messages: [
          { role: 'user', content: 'Run ls' },
          { role: 'assistant', content: null, tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'sh', arguments: '{}' } }] },
          { role: 'tool', tool_call_id: 'toolu_1', content: '' },
        ],
      }),
      entity,
    );
    expect(translated.messages[2]).toEqual({ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1' }] });
  });

  it('keeps an assistant\'s refusal as the text of its turn', () => {
    const translated = toMessagesRequest(
      request({
        messages: [
          { role: 'user', content: 'Help me pick a lock.' },
          { role: 'assistant', content: null, refusal: 'I cannot help with that.' },
          { role: 'user', content: 'OK' },
        ],
      }),
      entity,
    );
    expect(translated.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Help me pick a lock.' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'I cannot help with that.' }] },
      { role: 'user', content: [{ type: 'text', text: 'OK' }] },
    ]);
  });

  it('keeps an assistant\'s refusal part as the text of its turn', () => {
    const translated = toMessagesRequest(
      request({ messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: [{ type: 'refusal', refusal: 'I cannot help with that.' }] }, { role: 'user', content: 'Why?' }] }),
      entity,
    );
    expect(translated.messages[1]).toEqual({ role: 'assistant', content: [{ type: 'text', text: 'I cannot help with that.' }] });
  });

  it.each([
    ['audio', { type: 'input_audio', input_audio: { data: 'UklGRg==', format: 'wav' } }, 'input_audio'],
    ['a file', { type: 'file', file: { file_id: 'file-abc' } }, 'file'],
  ] as const)('refuses %s in a user message with a 400 naming the part, rather than dropping it', (_name, part, type) => {
    const input = request({ messages: [{ role: 'user', content: [{ type: 'text', text: 'What is in this?' }, part] }] } as never);
    expect(refusal(input)).toEqual({ status: 400, message: `messages[0].content[1]: ${type} parts are not supported by this endpoint's model` });
  });

  it('leaves out an assistant message with nothing to say, merging the user messages around it', () => {
    const translated = toMessagesRequest(
      request({ messages: [{ role: 'user', content: 'First' }, { role: 'assistant', content: '' }, { role: 'user', content: 'Second' }] }),
      entity,
    );
    expect(translated.messages).toEqual([{ role: 'user', content: [{ type: 'text', text: 'First' }, { type: 'text', text: 'Second' }] }]);
  });

  it('accepts an empty user message that shares its turn with content', () => {
    const translated = toMessagesRequest(
      request({
        messages: [
          { role: 'user', content: 'Run ls' },
          { role: 'assistant', content: null, tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'sh', arguments: '{}' } }] },
          { role: 'tool', tool_call_id: 'toolu_1', content: 'a.txt' },
          { role: 'user', content: '' },
        ],
      }),
      entity,
    );
    expect(translated.messages[2]).toEqual({ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'a.txt' }] }] });
  });

  it.each([
    ['an empty string', ''],
    ['only whitespace', '  '],
    ['no parts', []],
  ])('refuses a user turn whose content is %s with a 400 naming the message, rather than sending an empty turn', (_case, content) => {
    const refused = refusal(request({ messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello.' }, { role: 'user', content }] }));
    expect(refused.status).toBe(400);
    expect(refused.message).toBe("messages[2].content: must not be empty for this endpoint's model");
  });

  it('leaves out blank system messages, sending no system at all when every one is blank', () => {
    const blank = toMessagesRequest(request({ messages: [{ role: 'system', content: '  ' }, { role: 'user', content: 'Hi' }] }), entity);
    const mixed = toMessagesRequest(request({ messages: [{ role: 'system', content: '' }, { role: 'developer', content: 'Be brief.' }, { role: 'user', content: 'Hi' }] }), entity);
    expect(blank.system).toBeUndefined();
    expect(mixed.system).toBe('Be brief.');
  });

  it('trims the trailing whitespace of a last assistant turn (a prefill), which Anthropic refuses', () => {
    const translated = toMessagesRequest(request({ messages: [{ role: 'user', content: 'List three colours.' }, { role: 'assistant', content: 'Red, \n' }] }), entity);
    expect(translated.messages.at(-1)).toEqual({ role: 'assistant', content: [{ type: 'text', text: 'Red,' }] });
  });

  it('refuses a request of system messages alone with a 400 naming messages', () => {
    const refused = refusal(request({ messages: [{ role: 'system', content: 'Write a haiku about the sea.' }] }));
    expect(refused.status).toBe(400);
    expect(refused.message.slice(0, 'messages: '.length)).toBe('messages: ');
  });

  it('refuses a strict function tool with a 400 naming tools[i].function.strict rather than dropping it', () => {
    // Prepare
    const loose = { type: 'function', function: { name: 'now', strict: false } };
    const strict = { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: {} }, strict: true } };
    // Act
    const refused = refusal(request({ tools: [loose, strict] }));
    // Assess
    expect(refused).toEqual({ status: 400, message: "tools[1].function.strict: this parameter is not supported by this endpoint's model" });
    expect(toMessagesRequest(request({ tools: [loose] }), entity).tools).toEqual([{ name: 'now', input_schema: { type: 'object', properties: {} } }]);
  });
});
