import { z } from 'zod';

/**
 * The parts of Anthropic's Messages API (`POST /v1/messages`, version 2023-06-01) the backend
 * speaks. Answers are loose objects: Anthropic adds fields, and new content block and event
 * types, which the translation skips rather than refuses.
 */

/** A content block we send. */
export type MessagesContentBlock =
  | { type: 'text'; text: string }
  | { type: 'image'; source: { type: 'base64'; media_type: string; data: string } };

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

const contentBlock = z.object({ type: z.string(), text: z.string().optional() }).loose();

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
      delta: z.object({ type: z.string(), text: z.string().optional() }).loose(),
    })
    .loose(),
  z.object({ type: z.literal('content_block_stop'), index: z.number().int() }).loose(),
  z
    .object({
      type: z.literal('message_delta'),
      delta: z.object({ stop_reason: z.string().nullable().optional() }).loose(),
      // Cumulative: the counts so far, not increments.
      usage: messagesUsageSchema.partial().loose().optional(),
    })
    .loose(),
  z.object({ type: z.literal('message_stop') }).loose(),
  messagesErrorSchema,
]);

export type MessagesUsage = z.infer<typeof messagesUsageSchema>;
export type Message = z.infer<typeof messageSchema>;
export type MessagesStreamEvent = z.infer<typeof messagesStreamEventSchema>;
