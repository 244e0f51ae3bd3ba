import { z } from 'zod';

/**
 * The parts of Anthropic's Messages API (`POST /v1/messages`, version 2023-06-01) the backend
 * speaks. Answers are loose objects: Anthropic adds fields, and new content block and event
 * types, which the translation skips rather than refuses.
 */

/** A content block we send. */
export type MessagesContentBlock =
  | { type: 'text'; text: string }
  | { type: 'image'; source: { type: 'base64'; media_type: string; data: string } }
  | { type: 'tool_use'; id: string; name: string; input: unknown }
  | { type: 'tool_result'; tool_use_id: string; content?: Array<{ type: 'text'; text: string }> };

/** A tool the model may call, described by a JSON Schema of its input. */
export interface MessagesTool {
  name: string;
  description?: string;
  input_schema: unknown;
}

/** Whether and which tool the model must call. */
export type MessagesToolChoice =
  | { type: 'auto' | 'any'; disable_parallel_tool_use?: boolean }
  | { type: 'tool'; name: string; disable_parallel_tool_use?: boolean }
  | { type: 'none' };

/** One turn of the conversation; Anthropic's roles are only these two. */
export interface MessagesTurn {
  role: 'user' | 'assistant';
  content: MessagesContentBlock[];
}

/** The request body we send. */
export interface MessagesRequest {
  model: string;
  max_tokens: number;
  messages: MessagesTurn[];
  system?: string;
  temperature?: number;
  top_p?: number;
  stop_sequences?: string[];
  metadata?: { user_id: string };
  tools?: MessagesTool[];
  tool_choice?: MessagesToolChoice;
  stream?: boolean;
}

const tokenCount = z.number().int().min(0);

export const messagesUsageSchema = z
  .object({
    input_tokens: tokenCount,
    output_tokens: tokenCount,
    cache_creation_input_tokens: tokenCount.nullable().optional(),
    cache_read_input_tokens: tokenCount.nullable().optional(),
  })
  .loose();

/** The counts a `message_delta` carries: any of them may be missing or `null` (Anthropic's own types say so). */
export const messagesDeltaUsageSchema = z
  .object({
    input_tokens: tokenCount.nullable().optional(),
    output_tokens: tokenCount.nullable().optional(),
    cache_creation_input_tokens: tokenCount.nullable().optional(),
    cache_read_input_tokens: tokenCount.nullable().optional(),
  })
  .loose();

/** Text and tool_use blocks are read; others (thinking, future types) are skipped. */
const contentBlock = z
  .object({ type: z.string(), text: z.string().optional(), id: z.string().optional(), name: z.string().optional(), input: z.unknown().optional() })
  .loose();

/** A whole answer (`type: "message"`). */
export const messageSchema = z
  .object({
    id: z.string(),
    type: z.literal('message'),
    role: z.literal('assistant'),
    model: z.string(),
    content: z.array(contentBlock),
    stop_reason: z.string().nullable(),
    stop_sequence: z.string().nullable().optional(),
    usage: messagesUsageSchema,
  })
  .loose();

/** Anthropic's error body, in an error answer or an `error` event. */
export const messagesErrorSchema = z
  .object({ type: z.literal('error'), error: z.object({ type: z.string(), message: z.string().optional() }).loose() })
  .loose();

/** The stream events the translation reads; others (ping, future types) are skipped. */
export const messagesStreamEventSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('message_start'),
      message: z.object({ id: z.string(), model: z.string(), usage: messagesUsageSchema.partial().loose() }).loose(),
    })
    .loose(),
  z.object({ type: z.literal('content_block_start'), index: z.number().int(), content_block: contentBlock }).loose(),
  z
    .object({
      type: z.literal('content_block_delta'),
      index: z.number().int(),
      delta: z.object({ type: z.string(), text: z.string().optional(), partial_json: z.string().optional() }).loose(),
    })
    .loose(),
  z.object({ type: z.literal('content_block_stop'), index: z.number().int() }).loose(),
  z
    .object({
      type: z.literal('message_delta'),
      delta: z.object({ stop_reason: z.string().nullable().optional() }).loose(),
      // Cumulative: the counts so far, not increments.
      usage: messagesDeltaUsageSchema.optional(),
    })
    .loose(),
  z.object({ type: z.literal('message_stop') }).loose(),
  messagesErrorSchema,
]);

export type MessagesUsage = z.infer<typeof messagesUsageSchema>;
export type MessagesDeltaUsage = z.infer<typeof messagesDeltaUsageSchema>;
export type Message = z.infer<typeof messageSchema>;
export type MessagesStreamEvent = z.infer<typeof messagesStreamEventSchema>;
