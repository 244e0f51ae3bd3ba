import { answerOpenAi, type OpenAiOperation } from '../openai-protocol/answer-openai';
import { invalidRequestError, type OpenAiErrorReply } from '../openai-protocol/openai-error';
import type { ToyModel } from '../toy-llm/toy-model';
import type { ContainerReply } from './scoring-container';

/** What an LLM container answers: a whole body, or the SSE frames of a streamed answer. */
export type LlmContainerReply = ContainerReply | { readonly status: 200; readonly stream: readonly string[] };

/**
 * Plays an LLM container behind a SageMaker endpoint (LMI or TGI with the OpenAI-compatible
 * Messages API): the body's shape picks the operation (`messages` → chat, `prompt` →
 * completions, `input` → embeddings), the answer is OpenAI's JSON with `usage`, and a body with
 * `stream: true` is answered as SSE frames (`data: {chunk}` … `data: [DONE]`). Its own 4xx for
 * a body it cannot serve carries OpenAI's error shape; SageMaker relays it as a ModelError.
 */
export function invokeLlmContainer(modelName: string, model: ToyModel, body: Buffer, contentType: string | undefined): LlmContainerReply {
  if (!isJsonContentType(contentType)) {
    return errorReply({ ...invalidRequestError(`Unsupported content type '${contentType ?? ''}'; send application/json.`), status: 415 });
  }
  let payload: unknown;
  try {
    payload = JSON.parse(body.toString('utf8'));
  } catch {
    return errorReply(invalidRequestError('The request body is not valid JSON.'));
  }
  const operation = operationOf(payload);
  if (operation === undefined) {
    return errorReply(invalidRequestError("The body needs 'messages' (chat), 'prompt' (completions) or 'input' (embeddings)."));
  }
  // The container serves one model: like LMI and TGI, it needs no `model` and ignores the one sent.
  const answer = answerOpenAi(operation, { ...(payload as object), model: modelName }, { modelName, model });
  switch (answer.kind) {
    case 'error':
      return errorReply(answer.error);
    case 'json':
      return { status: 200, body: JSON.stringify(answer.body), contentType: 'application/json' };
    case 'stream':
      return { status: 200, stream: [...answer.chunks.map((chunk) => `data: ${JSON.stringify(chunk)}\n\n`), 'data: [DONE]\n\n'] };
  }
}

function operationOf(payload: unknown): OpenAiOperation | undefined {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return undefined;
  if ('messages' in payload) return 'chat';
  if ('prompt' in payload) return 'completions';
  if ('input' in payload) return 'embeddings';
  return undefined;
}

function errorReply(error: OpenAiErrorReply): ContainerReply {
  return { status: error.status, body: JSON.stringify(error.body), contentType: 'application/json' };
}

function isJsonContentType(contentType: string | undefined): boolean {
  return contentType?.split(';', 1)[0]?.trim().toLowerCase() === 'application/json';
}
