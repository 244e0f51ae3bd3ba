import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { lastUserText, renderPrompt, type ConversationTurn } from '../toy-llm/conversation';
import { generate } from '../toy-llm/generate';
import { countTokens } from '../toy-llm/tokens';
import { invalidRequestError, type AnthropicErrorReply } from './anthropic-error';

const contentBlock = z.object({ type: z.string(), text: z.string().optional() }).loose();
const content = z.union([z.string(), z.array(contentBlock)]);

/** A Messages API request body as Anthropic checks it; parameters the toy model does not use are accepted and ignored. */
export const messagesRequestSchema = z
  .object({
    model: z.string(),
    max_tokens: z.number().int().min(1),
    messages: z.array(z.object({ role: z.string(), content }).loose()),
    system: z.union([z.string(), z.array(contentBlock)]).optional(),
    stop_sequences: z.array(z.string()).optional(),
    stream: z.boolean().optional(),
    temperature: z.number().min(0).max(1).optional(),
    top_p: z.number().min(0).max(1).optional(),
    top_k: z.number().int().min(0).optional(),
  })
  .loose();

export type MessagesRequest = z.infer<typeof messagesRequestSchema>;

/** One server-sent event of a streamed message: its `event:` name and its `data:` object. */
export interface MessageStreamEvent {
  readonly event: string;
  readonly data: Record<string, unknown>;
}

/** What the toy model answers to one Messages API request. */
export type MessagesAnswer =
  | { readonly kind: 'json'; readonly body: Record<string, unknown> }
  | { readonly kind: 'stream'; readonly events: readonly MessageStreamEvent[] }
  | { readonly kind: 'error'; readonly error: AnthropicErrorReply };

/**
 * Answers a Messages API request body with the toy model in Anthropic's shapes: a `message`
 * with text content blocks, `stop_reason` and `usage` (input and output tokens), or the stream's
 * event sequence `message_start`, `content_block_start`, `ping`, `content_block_delta`
 * (text_delta)…, `content_block_stop`, `message_delta` (stop reason, output tokens), `message_stop`.
 */
export function answerMessages(payload: unknown): MessagesAnswer {
  const parsed = messagesRequestSchema.safeParse(payload, { reportInput: true });
  if (!parsed.success) return { kind: 'error', error: validationError(parsed.error) };
  const request = parsed.data;
  if (request.messages.length === 0) return refuse('messages: at least one message is required');
  const strangeRole = request.messages.find((message) => message.role !== 'user' && message.role !== 'assistant');
  if (strangeRole?.role === 'system') {
    return refuse(
      'messages: Unexpected role "system". The Messages API accepts a top-level `system` parameter, not "system" as an input message role.',
    );
  }
  if (strangeRole) return refuse(`messages: Input tag '${strangeRole.role}' found using 'role' does not match any of the expected tags: 'user', 'assistant'`);

  const turns: ConversationTurn[] = [
    ...(request.system === undefined ? [] : [{ role: 'system', text: contentText(request.system) }]),
    ...request.messages.map((message) => ({ role: message.role, text: contentText(message.content) })),
  ];
  const generation = generate(lastUserText(turns), { maxTokens: request.max_tokens, stop: request.stop_sequences });
  const inputTokens = countTokens(renderPrompt(turns));
  const stopReason = generation.finishReason === 'length' ? 'max_tokens' : generation.stopSequence !== undefined ? 'stop_sequence' : 'end_turn';
  const stopSequence = generation.stopSequence ?? null;
  const message = {
    id: `msg_${randomBytes(12).toString('hex')}`,
    type: 'message',
    role: 'assistant',
    model: request.model,
  };

  if (!request.stream) {
    return {
      kind: 'json',
      body: {
        ...message,
        content: [{ type: 'text', text: generation.text }],
        stop_reason: stopReason,
        stop_sequence: stopSequence,
        usage: usage(inputTokens, generation.completionTokens),
      },
    };
  }
  return {
    kind: 'stream',
    events: [
      // As the real API does, message_start reports the input tokens and a provisional output count;
      // message_delta carries the final output count.
      event('message_start', { message: { ...message, content: [], stop_reason: null, stop_sequence: null, usage: usage(inputTokens, 1) } }),
      event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
      event('ping', {}),
      ...generation.pieces.map((piece) => event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: piece } })),
      event('content_block_stop', { index: 0 }),
      event('message_delta', { delta: { stop_reason: stopReason, stop_sequence: stopSequence }, usage: { output_tokens: generation.completionTokens } }),
      event('message_stop', {}),
    ],
  };
}

function event(type: string, fields: Record<string, unknown>): MessageStreamEvent {
  return { event: type, data: { type, ...fields } };
}

function usage(inputTokens: number, outputTokens: number) {
  return { input_tokens: inputTokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: outputTokens };
}

function contentText(value: string | ReadonlyArray<{ type: string; text?: string | undefined }>): string {
  if (typeof value === 'string') return value;
  return value
    .filter((block) => block.type === 'text')
    .map((block) => block.text ?? '')
    .join('\n');
}

function refuse(message: string): MessagesAnswer {
  return { kind: 'error', error: invalidRequestError(message) };
}

/** Anthropic words validation errors as `path.to.field: problem` (`Field required` when missing). */
function validationError(error: z.ZodError): AnthropicErrorReply {
  const issue = error.issues[0];
  if (issue === undefined || issue.path.length === 0) return invalidRequestError('The request body must be a JSON object.');
  const path = issue.path.map(String).join('.');
  const missing = issue.code === 'invalid_type' && issue.input === undefined;
  return invalidRequestError(`${path}: ${missing ? 'Field required' : issue.message}`);
}
