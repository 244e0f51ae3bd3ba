import type { AnthropicEntity } from '../../core/endpoint-config';
import { ModelInputError } from '../../core/errors';
import type { ChatCompletionRequest, ChatMessage } from '../../core/openai-api';
import type { MessagesContentBlock, MessagesRequest, MessagesTurn } from './messages-api';

/** Fields translated into the Messages request (`model` is the endpoint's; the entity's is sent). */
const TRANSLATED = new Set(['model', 'messages', 'max_tokens', 'max_completion_tokens', 'temperature', 'top_p', 'n', 'stop', 'stream', 'stream_options', 'user']);

/**
 * Fields dropped because leaving them out changes nothing the caller can observe in the answer:
 * bookkeeping for OpenAI's own platform, or best-effort hints Anthropic has no equivalent for.
 */
const DROPPED = new Set(['seed', 'store', 'metadata', 'service_tier', 'parallel_tool_calls', 'prompt_cache_key', 'safety_identifier']);

/** Fields dropped when they ask for the default (false, 0, empty), refused otherwise. */
const DROPPED_AT_DEFAULT: Readonly<Record<string, (value: unknown) => boolean>> = {
  logprobs: (value) => value === false,
  presence_penalty: (value) => value === 0,
  frequency_penalty: (value) => value === 0,
  logit_bias: (value) => typeof value === 'object' && value !== null && Object.keys(value).length === 0,
  response_format: (value) => typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'text',
  modalities: (value) => Array.isArray(value) && value.length === 1 && value[0] === 'text',
};

/** Image types the Messages API takes as base64 sources. */
const IMAGE_MEDIA_TYPES = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp']);

/**
 * Translates an OpenAI chat request into an Anthropic Messages request:
 * - `system` and `developer` messages, wherever they are, become `system` (joined by blank lines);
 * - consecutive user or assistant messages merge into one turn (Anthropic's turns alternate);
 * - text parts become text blocks; `image_url` parts with a base64 `data:` URL become image blocks;
 * - `max_tokens` is `max_tokens` ?? `max_completion_tokens` ?? the entity's `defaultMaxTokens`;
 * - `temperature`, `top_p` as they are; `stop` becomes `stop_sequences`; `user` becomes
 *   `metadata.user_id`; a message's `name` is dropped.
 * Anything Anthropic cannot honour (tools, tool messages, logprobs, penalties, JSON response
 * formats, image URLs that are not data URLs, temperature above 1, and any field we do not
 * know) is a `ModelInputError` naming the field, so a caller never gets an answer to a question
 * it did not ask.
 */
export function toMessagesRequest(input: ChatCompletionRequest, entity: AnthropicEntity): MessagesRequest {
  for (const [field, value] of Object.entries(input)) {
    if (value === null || value === undefined || TRANSLATED.has(field) || DROPPED.has(field)) continue;
    if (DROPPED_AT_DEFAULT[field]?.(value)) continue;
    throw unsupported(field);
  }
  if (input.temperature != null && input.temperature > 1) {
    throw new ModelInputError(`temperature: this endpoint's model accepts 0 to 1, not ${input.temperature}`);
  }

  const system: string[] = [];
  const turns: MessagesTurn[] = [];
  input.messages.forEach((message, index) => {
    const path = `messages[${index}]`;
    if (message.role === 'system' || message.role === 'developer') {
      system.push(systemText(message, path));
      return;
    }
    if (message.role === 'tool') throw unsupported(`${path}.role`, 'tool messages');
    for (const field of Object.keys(message)) {
      if (field !== 'role' && field !== 'content' && field !== 'name' && message[field] != null) throw unsupported(`${path}.${field}`);
    }
    const blocks = contentBlocks(message, path);
    const previous = turns.at(-1);
    if (previous?.role === message.role) previous.content.push(...blocks);
    else turns.push({ role: message.role, content: blocks });
  });

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
  return request;
}

function systemText(message: ChatMessage, path: string): string {
  const { content } = message;
  if (typeof content === 'string') return content;
  if (content == null) return '';
  return content
    .map((part, at) => {
      if (part.type !== 'text') throw new ModelInputError(`${path}.content[${at}]: a ${message.role} message may hold only text`);
      return part.text;
    })
    .join('\n');
}

function contentBlocks(message: ChatMessage, path: string): MessagesContentBlock[] {
  const { content } = message;
  if (content == null) return [];
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  return content.map((part, at): MessagesContentBlock => {
    if (part.type === 'text') return { type: 'text', text: part.text };
    const partPath = `${path}.content[${at}]`;
    if (message.role !== 'user') throw new ModelInputError(`${partPath}: only user messages may hold images`);
    return imageBlock(part.image_url.url, `${partPath}.image_url.url`);
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

function unsupported(field: string, what = field): ModelInputError {
  return new ModelInputError(`${field}: ${what === field ? 'this parameter' : what} is not supported by this endpoint's model`);
}
