import type { AnthropicEntity } from '../../core/endpoint-config';
import { ModelInputError } from '../../core/errors';
import type { ChatCompletionRequest, ChatMessage } from '../../core/openai-api';
import type { MessagesContentBlock, MessagesRequest, MessagesTool, MessagesToolChoice, MessagesTurn } from './messages-api';

/** Fields translated into the Messages request (`model` is the endpoint's; the entity's is sent). */
const TRANSLATED = new Set([
  'model',
  'messages',
  'max_tokens',
  'max_completion_tokens',
  'temperature',
  'top_p',
  'n',
  'stop',
  'stream',
  'stream_options',
  'user',
  'tools',
  'tool_choice',
  'parallel_tool_calls',
]);

/**
 * Fields dropped because leaving them out changes nothing the caller can observe in the answer:
 * bookkeeping for OpenAI's own platform, or best-effort hints Anthropic has no equivalent for.
 */
const DROPPED = new Set(['seed', 'store', 'metadata', 'service_tier', 'prompt_cache_key', 'safety_identifier']);

/** Fields dropped when they ask for the default (false, 0, empty), refused otherwise. */
// A Map, not an object literal: a caller's field named `__proto__` or `constructor` must find nothing here.
const DROPPED_AT_DEFAULT: ReadonlyMap<string, (value: unknown) => boolean> = new Map([
  ['logprobs', (value: unknown) => value === false],
  ['presence_penalty', (value: unknown) => value === 0],
  ['frequency_penalty', (value: unknown) => value === 0],
  ['logit_bias', (value: unknown) => isRecord(value) && Object.keys(value).length === 0],
  ['response_format', (value: unknown) => isRecord(value) && value.type === 'text'],
  ['modalities', (value: unknown) => Array.isArray(value) && value.length === 1 && value[0] === 'text'],
]);

/** Message fields translated, by role; any other field set on a message is refused. */
const MESSAGE_FIELDS: Readonly<Record<ChatMessage['role'], ReadonlySet<string>>> = {
  system: new Set(['role', 'content', 'name']),
  developer: new Set(['role', 'content', 'name']),
  user: new Set(['role', 'content', 'name']),
  assistant: new Set(['role', 'content', 'name', 'tool_calls', 'refusal']),
  tool: new Set(['role', 'content', 'tool_call_id']),
};

/** Image types the Messages API takes as base64 sources. */
const IMAGE_MEDIA_TYPES = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp']);

/**
 * Translates an OpenAI chat request into an Anthropic Messages request:
 * - `system` and `developer` messages, wherever they are, become `system` (joined by blank lines);
 * - consecutive user or assistant messages merge into one turn (Anthropic's turns alternate);
 * - text parts become text blocks; `image_url` parts with a base64 `data:` URL become image blocks;
 *   an assistant's `refusal` becomes a text block;
 * - blank text (Anthropic refuses empty or whitespace-only text blocks) is left out: an assistant
 *   message left with nothing is dropped (the user turns around it merge), a tool result is sent
 *   without content, and a user turn left with nothing is refused, as is a request with no turn;
 *   a last assistant turn (a prefill) loses its trailing whitespace;
 * - function `tools` become tools with `input_schema`; `tool_choice` none/auto/required/named
 *   becomes none/auto/any/tool; `parallel_tool_calls: false` disables parallel tool use;
 *   an assistant's `tool_calls` become `tool_use` blocks and `tool` messages `tool_result` blocks
 *   of a user turn;
 * - `max_tokens` is `max_tokens` ?? `max_completion_tokens` ?? the entity's `defaultMaxTokens`;
 * - `temperature`, `top_p` as they are; `stop` becomes `stop_sequences`; `user` becomes
 *   `metadata.user_id`; a message's `name` is dropped.
 * Anything Anthropic cannot honour (logprobs, penalties, logit bias, JSON response formats,
 * image URLs that are not data URLs, temperature above 1, tools that are not functions or are
 * `strict`, and any field we do not know) is a `ModelInputError` naming the field, so a caller
 * never gets an answer to a question it did not ask.
 */
export function toMessagesRequest(input: ChatCompletionRequest, entity: AnthropicEntity): MessagesRequest {
  for (const [field, value] of Object.entries(input)) {
    if (value === null || value === undefined || TRANSLATED.has(field) || DROPPED.has(field)) continue;
    if (DROPPED_AT_DEFAULT.get(field)?.(value)) continue;
    throw unsupported(field);
  }
  if (input.temperature != null && input.temperature > 1) {
    throw new ModelInputError(`temperature: this endpoint's model accepts 0 to 1, not ${input.temperature}`);
  }

  const system: string[] = [];
  const turns: MessagesTurn[] = [];
  /** For each turn, the index of the message that opened it (named if the turn is left empty). */
  const openedBy: number[] = [];
  input.messages.forEach((message, index) => {
    const path = `messages[${index}]`;
    for (const field of Object.keys(message)) {
      if (!MESSAGE_FIELDS[message.role].has(field) && message[field] != null) throw unsupported(`${path}.${field}`);
    }
    if (message.role === 'system' || message.role === 'developer') {
      // A blank system message says nothing; Anthropic refuses blank text.
      const text = textOnly(message, path).join('\n');
      if (!isBlank(text)) system.push(text);
      return;
    }
    const role = message.role === 'assistant' ? 'assistant' : 'user';
    const blocks = message.role === 'tool' ? [toolResultBlock(message, path)] : contentBlocks(message, path);
    // An assistant message with nothing to say adds nothing; leaving it out keeps the turns alternating.
    if (role === 'assistant' && blocks.length === 0) return;
    const previous = turns.at(-1);
    if (previous?.role === role) previous.content.push(...blocks);
    else {
      turns.push({ role, content: blocks });
      openedBy.push(index);
    }
  });
  if (turns.length === 0) {
    throw new ModelInputError("messages: needs a user or assistant message with content; this endpoint's model does not answer system messages alone");
  }
  const empty = turns.findIndex((turn) => turn.content.length === 0);
  if (empty !== -1) throw new ModelInputError(`messages[${openedBy[empty]}].content: must not be empty for this endpoint's model`);
  // A last assistant turn is a prefill the answer continues; Anthropic refuses one ending in whitespace.
  const last = turns.at(-1)!;
  const lastBlock = last.content.at(-1);
  if (last.role === 'assistant' && lastBlock?.type === 'text') lastBlock.text = lastBlock.text.trimEnd();

  const request: MessagesRequest = {
    model: entity.model,
    max_tokens: input.max_tokens ?? input.max_completion_tokens ?? entity.defaultMaxTokens,
    messages: turns,
  };
  if (system.length > 0) request.system = system.join('\n\n');
  if (input.temperature != null) request.temperature = input.temperature;
  if (input.top_p != null) request.top_p = input.top_p;
  if (input.stop != null) request.stop_sequences = typeof input.stop === 'string' ? [input.stop] : input.stop;
  if (input.user !== undefined) request.metadata = { user_id: input.user };
  // Without tools, a tool choice means nothing (OpenAI refuses one; it is dropped here).
  if (input.tools != null) {
    request.tools = tools(input.tools);
    const choice = toolChoice(input.tool_choice, input.parallel_tool_calls);
    if (choice !== undefined) request.tool_choice = choice;
  }
  return request;
}

function contentBlocks(message: ChatMessage, path: string): MessagesContentBlock[] {
  const { content } = message;
  const blocks: MessagesContentBlock[] = [];
  const pushText = (text: string) => {
    if (!isBlank(text)) blocks.push({ type: 'text', text });
  };
  if (typeof content === 'string') pushText(content);
  else if (content != null) {
    content.forEach((part, at) => {
      const partPath = `${path}.content[${at}]`;
      if (part.type === 'text') pushText(part.text);
      else if (part.type === 'refusal') {
        if (message.role !== 'assistant') throw new ModelInputError(`${partPath}: only assistant messages may hold a refusal`);
        pushText(part.refusal);
      } else if (part.type === 'image_url') {
        if (message.role !== 'user') throw new ModelInputError(`${partPath}: only user messages may hold images`);
        blocks.push(imageBlock(part.image_url.url, `${partPath}.image_url.url`));
      } else throw new ModelInputError(`${partPath}: ${part.type} parts are not supported by this endpoint's model`);
    });
  }
  if (message.role === 'assistant' && message.refusal != null) {
    if (typeof message.refusal !== 'string') throw new ModelInputError(`${path}.refusal: must be a string`);
    // What the assistant said when it declined; Anthropic has no refusal field, so it is the turn's text.
    pushText(message.refusal);
  }
  if (message.role === 'assistant' && message.tool_calls != null) blocks.push(...toolUseBlocks(message.tool_calls, `${path}.tool_calls`));
  return blocks;
}

function textOnly(message: ChatMessage, path: string): string[] {
  const { content } = message;
  if (typeof content === 'string') return [content];
  if (content == null) return [];
  return content.map((part, at) => {
    if (part.type !== 'text') throw new ModelInputError(`${path}.content[${at}]: a ${message.role} message may hold only text`);
    return part.text;
  });
}

function imageBlock(url: string, path: string): MessagesContentBlock {
  const match = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  if (!match) throw new ModelInputError(`${path}: only base64 data: URLs are accepted for images on this endpoint`);
  const [, mediaType = '', data = ''] = match;
  if (!IMAGE_MEDIA_TYPES.has(mediaType)) {
    throw new ModelInputError(`${path}: image type ${mediaType.slice(0, 50)} is not accepted (use JPEG, PNG, GIF or WebP)`);
  }
  return { type: 'image', source: { type: 'base64', media_type: mediaType, data } };
}

function toolUseBlocks(toolCalls: unknown, path: string): MessagesContentBlock[] {
  if (!Array.isArray(toolCalls)) throw new ModelInputError(`${path}: must be an array`);
  return toolCalls.map((call: unknown, at) => {
    const callPath = `${path}[${at}]`;
    const fn = isRecord(call) ? call.function : undefined;
    if (!isRecord(call) || call.type !== 'function' || typeof call.id !== 'string' || !isRecord(fn) || typeof fn.name !== 'string') {
      throw new ModelInputError(`${callPath}: must be {id, type: "function", function: {name, arguments}}`);
    }
    let toolInput: unknown = {};
    if (typeof fn.arguments === 'string' && fn.arguments.trim() !== '') {
      try {
        toolInput = JSON.parse(fn.arguments);
      } catch {
        throw new ModelInputError(`${callPath}.function.arguments: must be a JSON object`);
      }
    }
    if (!isRecord(toolInput)) throw new ModelInputError(`${callPath}.function.arguments: must be a JSON object`);
    return { type: 'tool_use', id: call.id, name: fn.name, input: toolInput };
  });
}

function toolResultBlock(message: ChatMessage, path: string): MessagesContentBlock {
  if (typeof message.tool_call_id !== 'string') throw new ModelInputError(`${path}.tool_call_id: a tool message needs the id of the call it answers`);
  const texts = textOnly(message, path).filter((text) => !isBlank(text));
  const block: MessagesContentBlock = { type: 'tool_result', tool_use_id: message.tool_call_id };
  // An empty result is a tool_result without content, which Anthropic takes (an empty text block it refuses).
  if (texts.length > 0) block.content = texts.map((text) => ({ type: 'text', text }));
  return block;
}

function tools(value: unknown): MessagesTool[] {
  if (!Array.isArray(value)) throw new ModelInputError('tools: must be an array');
  return value.map((tool: unknown, at) => {
    const fn = isRecord(tool) ? tool.function : undefined;
    if (!isRecord(tool) || tool.type !== 'function' || !isRecord(fn) || typeof fn.name !== 'string') {
      throw new ModelInputError(`tools[${at}]: only {type: "function", function: {name, description?, parameters?}} tools are supported by this endpoint's model`);
    }
    // `strict: true` asks for arguments guaranteed to fit the schema, which this translation does not give.
    if (fn.strict != null && fn.strict !== false) throw unsupported(`tools[${at}].function.strict`);
    const translated: MessagesTool = { name: fn.name, input_schema: fn.parameters ?? { type: 'object', properties: {} } };
    if (typeof fn.description === 'string') translated.description = fn.description;
    return translated;
  });
}

function toolChoice(choice: unknown, parallelToolCalls: unknown): MessagesToolChoice | undefined {
  const parallel = parallelToolCalls === false ? { disable_parallel_tool_use: true } : {};
  if (choice == null) return parallelToolCalls === false ? { type: 'auto', ...parallel } : undefined;
  if (choice === 'none') return { type: 'none' };
  if (choice === 'auto') return { type: 'auto', ...parallel };
  if (choice === 'required') return { type: 'any', ...parallel };
  const fn = isRecord(choice) ? choice.function : undefined;
  if (isRecord(choice) && choice.type === 'function' && isRecord(fn) && typeof fn.name === 'string') return { type: 'tool', name: fn.name, ...parallel };
  throw new ModelInputError('tool_choice: must be "none", "auto", "required" or {type: "function", function: {name}}');
}

function unsupported(field: string): ModelInputError {
  return new ModelInputError(`${field}: this parameter is not supported by this endpoint's model`);
}

/** Text Anthropic refuses as a text block: empty or only whitespace. */
function isBlank(text: string): boolean {
  return text.trim() === '';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
