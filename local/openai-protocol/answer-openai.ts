import { randomBytes } from 'node:crypto';
import { lastUserText, renderPrompt, type ConversationTurn } from '../toy-llm/conversation';
import { embed } from '../toy-llm/embed';
import { generate, type Generation } from '../toy-llm/generate';
import { countTokens } from '../toy-llm/tokens';
import { defaultEmbeddingDimensions, type ToyModel } from '../toy-llm/toy-model';
import { invalidRequestError, type OpenAiErrorReply } from './openai-error';
import {
  chatRequestSchema,
  completionRequestSchema,
  embeddingsRequestSchema,
  parseOpenAiRequest,
  type ChatRequest,
  type CompletionRequest,
  type EmbeddingsRequest,
} from './openai-requests';

/** The three OpenAI operations the toy model serves. */
export type OpenAiOperation = 'chat' | 'completions' | 'embeddings';

type JsonObject = Record<string, unknown>;

/**
 * What the toy model answers to one OpenAI request: a JSON body, the JSON chunks of a stream
 * (the transport frames them as `data: ...` lines and adds `data: [DONE]`), or an OpenAI error.
 */
export type OpenAiAnswer =
  | { readonly kind: 'json'; readonly body: JsonObject }
  | { readonly kind: 'stream'; readonly chunks: readonly JsonObject[] }
  | { readonly kind: 'error'; readonly error: OpenAiErrorReply };

/** The model a request is answered by, under the name the caller used. */
export interface OpenAiModelContext {
  readonly modelName: string;
  readonly model: ToyModel;
}

/** The legacy completions endpoint's default `max_tokens`, as OpenAI documents it. */
const completionsDefaultMaxTokens = 16;

/**
 * Answers an OpenAI chat, completions or embeddings request body with the toy model, exactly
 * in OpenAI's shapes: `usage` (unless the model omits it), streamed chunks with the usage chunk
 * only when `stream_options.include_usage` is true, and OpenAI's 400s for bad input. Shared by
 * the OpenAI-compatible server and the SageMaker model server's LLM containers.
 */
export function answerOpenAi(operation: OpenAiOperation, payload: unknown, context: OpenAiModelContext): OpenAiAnswer {
  switch (operation) {
    case 'chat': {
      const parsed = parseOpenAiRequest(chatRequestSchema, payload);
      return parsed.ok ? answerChat(parsed.request, context) : { kind: 'error', error: parsed.error };
    }
    case 'completions': {
      const parsed = parseOpenAiRequest(completionRequestSchema, payload);
      return parsed.ok ? answerCompletion(parsed.request, context) : { kind: 'error', error: parsed.error };
    }
    case 'embeddings': {
      const parsed = parseOpenAiRequest(embeddingsRequestSchema, payload);
      return parsed.ok ? answerEmbeddings(parsed.request, context) : { kind: 'error', error: parsed.error };
    }
  }
}

function answerChat(request: ChatRequest, context: OpenAiModelContext): OpenAiAnswer {
  const refusal = refuseGenerationRequest(request, context, '/v1/chat/completions');
  if (refusal) return refusal;
  const turns: ConversationTurn[] = request.messages.map((message) => ({ role: message.role, text: contentText(message.content) }));
  const generation = generate(lastUserText(turns), {
    maxTokens: request.max_completion_tokens ?? request.max_tokens ?? undefined,
    stop: stopSequences(request.stop),
  });
  const usage = context.model.omitUsage ? undefined : generationUsage(countTokens(renderPrompt(turns)), generation);
  const head = { id: `chatcmpl-${randomId()}`, created: nowInSeconds(), model: context.modelName };

  if (!request.stream) {
    return {
      kind: 'json',
      body: {
        ...head,
        object: 'chat.completion',
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: generation.text, refusal: null, annotations: [] },
            logprobs: null,
            finish_reason: generation.finishReason,
          },
        ],
        ...(usage ? { usage } : {}),
        system_fingerprint: null,
      },
    };
  }

  const includeUsage = request.stream_options?.include_usage === true && usage !== undefined;
  const chunk = (choices: JsonObject[], extra: JsonObject = {}): JsonObject => ({
    ...head,
    object: 'chat.completion.chunk',
    system_fingerprint: null,
    choices,
    // With include_usage, OpenAI puts `usage: null` on every chunk but the last.
    ...(includeUsage ? { usage: null } : {}),
    ...extra,
  });
  const choice = (delta: JsonObject, finishReason: string | null = null) => ({ index: 0, delta, logprobs: null, finish_reason: finishReason });
  return {
    kind: 'stream',
    chunks: [
      chunk([choice({ role: 'assistant', content: '', refusal: null })]),
      ...generation.pieces.map((piece) => chunk([choice({ content: piece })])),
      chunk([choice({}, generation.finishReason)]),
      ...(includeUsage ? [chunk([], { usage })] : []),
    ],
  };
}

function answerCompletion(request: CompletionRequest, context: OpenAiModelContext): OpenAiAnswer {
  const refusal = refuseGenerationRequest(request, context, '/v1/completions');
  if (refusal) return refusal;
  const prompt = request.prompt;
  if (typeof prompt !== 'string' && (prompt.length !== 1 || typeof prompt[0] !== 'string')) {
    return refuse('The local toy model serves one text prompt per request (no batches, no token ids).', 'prompt');
  }
  const promptText = typeof prompt === 'string' ? prompt : (prompt[0] as string);
  const generation = generate(promptText, {
    maxTokens: request.max_tokens ?? completionsDefaultMaxTokens,
    stop: stopSequences(request.stop),
  });
  const usage = context.model.omitUsage ? undefined : generationUsage(countTokens(promptText), generation);
  const head = { id: `cmpl-${randomId()}`, object: 'text_completion', created: nowInSeconds(), model: context.modelName };

  if (!request.stream) {
    return {
      kind: 'json',
      body: {
        ...head,
        choices: [{ text: generation.text, index: 0, logprobs: null, finish_reason: generation.finishReason }],
        ...(usage ? { usage } : {}),
        system_fingerprint: null,
      },
    };
  }

  const includeUsage = request.stream_options?.include_usage === true && usage !== undefined;
  const chunk = (choices: JsonObject[], extra: JsonObject = {}): JsonObject => ({
    ...head,
    choices,
    system_fingerprint: null,
    ...(includeUsage ? { usage: null } : {}),
    ...extra,
  });
  const choice = (text: string, finishReason: string | null = null) => ({ text, index: 0, logprobs: null, finish_reason: finishReason });
  return {
    kind: 'stream',
    chunks: [
      ...generation.pieces.map((piece) => chunk([choice(piece)])),
      chunk([choice('', generation.finishReason)]),
      ...(includeUsage ? [chunk([], { usage })] : []),
    ],
  };
}

function answerEmbeddings(request: EmbeddingsRequest, context: OpenAiModelContext): OpenAiAnswer {
  if (context.model.kind !== 'embed') {
    return refuse(`The model \`${context.modelName}\` does not support /v1/embeddings.`, 'model', 'model_not_supported');
  }
  const inputs = embeddingInputs(request.input);
  if (inputs.some((input) => input.text === '')) {
    return refuse("'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.", null, null);
  }
  const nativeDimensions = context.model.dimensions ?? defaultEmbeddingDimensions;
  const dimensions = request.dimensions ?? nativeDimensions;
  if (dimensions > nativeDimensions) {
    return refuse(`Invalid value for 'dimensions': at most ${nativeDimensions} for this model.`, 'dimensions', 'invalid_value');
  }
  const promptTokens = inputs.reduce((sum, input) => sum + input.tokens, 0);
  return {
    kind: 'json',
    body: {
      object: 'list',
      data: inputs.map((input, index) => {
        const vector = embed(input.text, dimensions);
        return {
          object: 'embedding',
          index,
          // base64 is the raw little-endian float32 array; the `openai` client asks for it by default.
          embedding: request.encoding_format === 'base64' ? Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).toString('base64') : Array.from(vector),
        };
      }),
      model: context.modelName,
      ...(context.model.omitUsage ? {} : { usage: { prompt_tokens: promptTokens, total_tokens: promptTokens } }),
    },
  };
}

/** Checks shared by chat and completions that OpenAI applies before generating. */
function refuseGenerationRequest(
  request: ChatRequest | CompletionRequest,
  context: OpenAiModelContext,
  route: string,
): OpenAiAnswer | undefined {
  if (context.model.kind !== 'generate') {
    return refuse(`The model \`${context.modelName}\` does not support ${route}.`, 'model', 'model_not_supported');
  }
  if (request.stream_options != null && !request.stream) {
    return refuse("The 'stream_options' parameter is only allowed when 'stream' is enabled.", 'stream_options', 'invalid_value');
  }
  if (request.n != null && request.n > 1) return refuse('The local toy model serves n=1 only.', 'n', 'invalid_value');
  return undefined;
}

function refuse(message: string, param: string | null, code: string | null = 'invalid_value'): OpenAiAnswer {
  return { kind: 'error', error: invalidRequestError(message, param, code) };
}

function generationUsage(promptTokens: number, generation: Generation): JsonObject {
  return {
    prompt_tokens: promptTokens,
    completion_tokens: generation.completionTokens,
    total_tokens: promptTokens + generation.completionTokens,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
}

/** A message's text: the string, or its text parts joined (images and the like carry no text). */
function contentText(content: ChatRequest['messages'][number]['content']): string {
  if (content == null) return '';
  if (typeof content === 'string') return content;
  return content
    .filter((part) => part.type === 'text')
    .map((part) => part.text ?? '')
    .join('\n');
}

function stopSequences(stop: string | string[] | null | undefined): string[] | undefined {
  if (stop == null) return undefined;
  return typeof stop === 'string' ? [stop] : stop;
}

/** Each input with its token count; token-id inputs are embedded as the ids' text. */
function embeddingInputs(input: EmbeddingsRequest['input']): Array<{ text: string; tokens: number }> {
  if (typeof input === 'string') return [{ text: input, tokens: countTokens(input) }];
  if (input.every((item): item is string => typeof item === 'string')) return input.map((text) => ({ text, tokens: countTokens(text) }));
  if (input.every((item): item is number => typeof item === 'number')) return [{ text: input.join(' '), tokens: input.length }];
  return (input as number[][]).map((ids) => ({ text: ids.join(' '), tokens: ids.length }));
}

function randomId(): string {
  return randomBytes(12).toString('base64url');
}

function nowInSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
