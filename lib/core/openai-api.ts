import { z } from 'zod';

/**
 * The OpenAI-compatible surface: the request bodies callers send to `/v1/chat/completions`,
 * `/v1/completions` and `/v1/embeddings`, and the answers every backend is translated into.
 * Requests are loose objects: parameters we do not model (tools, logprobs, seed, ...) are kept and
 * forwarded to backends that understand them; the fields we do model are checked.
 */

const textPart = z.object({ type: z.literal('text'), text: z.string() }).loose();
const imagePart = z.object({ type: z.literal('image_url'), image_url: z.object({ url: z.string() }).loose() }).loose();
const audioPart = z.object({ type: z.literal('input_audio'), input_audio: z.object({ data: z.string(), format: z.string() }).loose() }).loose();
const filePart = z.object({ type: z.literal('file'), file: z.object({}).loose() }).loose();
const refusalPart = z.object({ type: z.literal('refusal'), refusal: z.string() }).loose();

/**
 * A backend that knows the prompt's exact token count before its stream ends (Anthropic's
 * `message_start`) puts it on a chunk under this key. It is never sent (JSON has no symbols): a
 * stream cut short before its usage chunk is billed for that count, not for an estimate.
 */
export const PROMPT_TOKENS = Symbol('modelgate.promptTokens');

/**
 * A message's content: a string, or an array of OpenAI's content parts. Every part type OpenAI
 * takes is accepted here; a backend that cannot carry one (Anthropic: audio, files) refuses it,
 * naming it.
 */
export const messageContentSchema = z.union([z.string(), z.array(z.discriminatedUnion('type', [textPart, imagePart, audioPart, filePart, refusalPart]))]);

export const chatMessageSchema = z
  .object({
    role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
    content: messageContentSchema.nullable().optional(),
    name: z.string().optional(),
    tool_call_id: z.string().optional(),
  })
  .loose();

const streamOptions = z.object({ include_usage: z.boolean().optional() }).loose().nullable().optional();
const stop = z.union([z.string(), z.array(z.string()).max(4)]).nullable().optional();

/** Fields every generation request shares. `model` is the endpoint's name. */
const generationFields = {
  model: z.string().min(1).max(200),
  max_tokens: z.number().int().min(1).nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().min(0).max(1).nullable().optional(),
  n: z.literal(1, 'only n=1 is served').nullable().optional(),
  stop,
  stream: z.boolean().nullable().optional(),
  stream_options: streamOptions,
  user: z.string().max(256).optional(),
};

export const chatCompletionRequestSchema = z
  .object({
    ...generationFields,
    messages: z.array(chatMessageSchema).min(1, 'messages must not be empty'),
    max_completion_tokens: z.number().int().min(1).nullable().optional(),
  })
  .loose();

/**
 * The most a chat request lets the model generate. A request may set both caps, and backends
 * differ in which they honour (Anthropic's translation takes `max_tokens` first, OpenAI prefers
 * `max_completion_tokens`): what is reserved for limits and budgets must cover either, so the
 * larger counts.
 */
export function chatOutputCap(request: { max_tokens?: number | null | undefined; max_completion_tokens?: number | null | undefined }): number | undefined {
  const caps = [request.max_tokens, request.max_completion_tokens].filter((cap): cap is number => typeof cap === 'number');
  return caps.length === 0 ? undefined : Math.max(...caps);
}

export const completionRequestSchema = z
  .object({
    ...generationFields,
    prompt: z.union([z.string(), z.array(z.string()).length(1, 'only one prompt per request is served')]),
  })
  .loose();

export const embeddingsRequestSchema = z
  .object({
    model: z.string().min(1).max(200),
    input: z.union([z.string(), z.array(z.string()).min(1).max(2048), z.array(z.number().int()).min(1)]),
    /** `base64`: each vector as little-endian float32 bytes, what the official clients ask for by default. */
    encoding_format: z.enum(['float', 'base64']).optional(),
    dimensions: z.number().int().min(1).optional(),
    user: z.string().max(256).optional(),
  })
  .loose();

export const usageSchema = z
  .object({
    prompt_tokens: z.number().int().min(0),
    completion_tokens: z.number().int().min(0).optional(),
    total_tokens: z.number().int().min(0),
  })
  .loose();

const finishReason = z.string().nullable();

export const chatCompletionSchema = z
  .object({
    id: z.string(),
    object: z.literal('chat.completion'),
    created: z.number().int(),
    model: z.string(),
    choices: z
      .array(
        z
          .object({
            index: z.number().int(),
            // A message that only calls tools may leave `content` out, not only set it to null.
            message: z.object({ role: z.literal('assistant'), content: z.string().nullish() }).loose(),
            finish_reason: finishReason,
          })
          .loose(),
      )
      .min(1),
    usage: usageSchema.nullish(),
  })
  .loose();

export const chatCompletionChunkSchema = z
  .object({
    id: z.string(),
    object: z.literal('chat.completion.chunk'),
    created: z.number().int(),
    model: z.string(),
    choices: z.array(
      z
        .object({
          index: z.number().int(),
          delta: z.object({ role: z.string().optional(), content: z.string().nullable().optional() }).loose(),
          finish_reason: finishReason.optional(),
        })
        .loose(),
    ),
    usage: usageSchema.nullable().optional(),
  })
  .loose();

export const completionSchema = z
  .object({
    id: z.string(),
    object: z.literal('text_completion'),
    created: z.number().int(),
    model: z.string(),
    choices: z.array(z.object({ index: z.number().int(), text: z.string(), finish_reason: finishReason.optional() }).loose()).min(1),
    usage: usageSchema.nullish(),
  })
  .loose();

/** OpenAI streams completions as `text_completion` objects too, each carrying a piece of text. */
export const completionChunkSchema = completionSchema.extend({
  choices: z.array(z.object({ index: z.number().int(), text: z.string(), finish_reason: finishReason.optional() }).loose()),
  usage: usageSchema.nullable().optional(),
});

export const embeddingsSchema = z
  .object({
    object: z.literal('list'),
    model: z.string(),
    data: z.array(z.object({ object: z.literal('embedding'), index: z.number().int(), embedding: z.array(z.number()) }).loose()).min(1),
    usage: usageSchema.nullish(),
  })
  .loose();

export type ChatMessage = z.infer<typeof chatMessageSchema>;
export type ChatCompletionRequest = z.infer<typeof chatCompletionRequestSchema>;
export type CompletionRequest = z.infer<typeof completionRequestSchema>;
export type EmbeddingsRequest = z.infer<typeof embeddingsRequestSchema>;
export type OpenAiUsage = z.infer<typeof usageSchema>;
export type ChatCompletion = z.infer<typeof chatCompletionSchema>;
export type ChatCompletionChunk = z.infer<typeof chatCompletionChunkSchema>;
export type Completion = z.infer<typeof completionSchema>;
export type CompletionChunk = z.infer<typeof completionChunkSchema>;
export type Embeddings = z.infer<typeof embeddingsSchema>;
