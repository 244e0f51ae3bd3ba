import { z } from 'zod';
import { invalidRequestError, type OpenAiErrorReply } from './openai-error';

/**
 * Request bodies as OpenAI's API checks them (the local servers' own view, independent of the
 * gateway's schemas, so that a disagreement between the two shows up in tests). Parameters the
 * toy model does not use (temperature, seed, tools, ...) are accepted and ignored.
 */

const contentPart = z.object({ type: z.string(), text: z.string().optional() }).loose();
const content = z.union([z.string(), z.array(contentPart)]).nullable().optional();

const chatMessage = z
  .object({
    role: z.enum(['system', 'developer', 'user', 'assistant', 'tool', 'function']),
    content,
  })
  .loose();

const stop = z.union([z.string(), z.array(z.string()).max(4)]).nullable().optional();
const maxTokens = z.number().int().min(1).nullable().optional();
const streamOptions = z.object({ include_usage: z.boolean().nullable().optional() }).loose().nullable().optional();
const n = z.number().int().min(1).max(128).nullable().optional();

const generationFields = {
  model: z.string(),
  max_tokens: maxTokens,
  stop,
  stream: z.boolean().nullable().optional(),
  stream_options: streamOptions,
  n,
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().min(0).max(1).nullable().optional(),
};

export const chatRequestSchema = z
  .object({ ...generationFields, messages: z.array(chatMessage).min(1), max_completion_tokens: maxTokens })
  .loose();

export const completionRequestSchema = z
  .object({
    ...generationFields,
    prompt: z.union([z.string(), z.array(z.string()).min(1), z.array(z.number().int()).min(1), z.array(z.array(z.number().int()))]),
  })
  .loose();

const tokenIds = z.array(z.number().int().min(0));
export const embeddingsRequestSchema = z
  .object({
    model: z.string(),
    input: z.union([z.string(), z.array(z.string()).min(1).max(2048), tokenIds.min(1), z.array(tokenIds.min(1)).min(1).max(2048)]),
    encoding_format: z.enum(['float', 'base64']).optional(),
    dimensions: z.number().int().min(1).optional(),
  })
  .loose();

export type ChatRequest = z.infer<typeof chatRequestSchema>;
export type CompletionRequest = z.infer<typeof completionRequestSchema>;
export type EmbeddingsRequest = z.infer<typeof embeddingsRequestSchema>;

/** Checks a body, answering the first problem the way OpenAI words it (`param` names the field). */
export function parseOpenAiRequest<Schema extends z.ZodType>(
  schema: Schema,
  payload: unknown,
): { ok: true; request: z.infer<Schema> } | { ok: false; error: OpenAiErrorReply } {
  const parsed = schema.safeParse(payload, { reportInput: true });
  if (parsed.success) return { ok: true, request: parsed.data };
  const issue = parsed.error.issues[0];
  if (issue === undefined) return { ok: false, error: invalidRequestError('Invalid request body.') };
  const param = issue.path.map((key, at) => (typeof key === 'number' ? `[${key}]` : `${at > 0 ? '.' : ''}${String(key)}`)).join('');
  if (param === '') return { ok: false, error: invalidRequestError('The request body must be a JSON object.') };
  if (issue.code === 'invalid_type' && issue.input === undefined) {
    return { ok: false, error: invalidRequestError(`Missing required parameter: '${param}'.`, param, 'missing_required_parameter') };
  }
  const code = issue.code === 'invalid_type' ? 'invalid_type' : 'invalid_value';
  return { ok: false, error: invalidRequestError(`Invalid value for '${param}': ${issue.message}.`, param, code) };
}
