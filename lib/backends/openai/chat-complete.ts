import type { OpenAiEntity } from '../../core/endpoint-config';
import {
  chatCompletionChunkSchema,
  chatCompletionSchema,
  type ChatCompletion,
  type ChatCompletionChunk,
  type ChatCompletionRequest,
} from '../../core/openai-api';
import type { BackendCall } from '../../ports/model-backend';
import { readJsonAnswer } from '../provider-http/provider-fetch';
import { postToOpenAi, type OpenAiBackendDeps } from './openai-client';
import { readOpenAiStream } from './read-openai-stream';
import { streamingBody, unaryBody } from './request-body';

/** `POST /chat/completions`, answered in one piece. */
export async function chatComplete(deps: OpenAiBackendDeps, call: BackendCall<OpenAiEntity, ChatCompletionRequest>): Promise<ChatCompletion> {
  const answer = await postToOpenAi(deps, call, '/chat/completions', unaryBody(call.input), 'application/json');
  return readJsonAnswer(answer.response, chatCompletionSchema, answer.context);
}

/** `POST /chat/completions` with `stream: true`, asking for usage in the last chunk. */
export async function* streamChatComplete(
  deps: OpenAiBackendDeps,
  call: BackendCall<OpenAiEntity, ChatCompletionRequest>,
): AsyncGenerator<ChatCompletionChunk> {
  const answer = await postToOpenAi(deps, call, '/chat/completions', streamingBody(call.input), 'text/event-stream');
  yield* readOpenAiStream(answer, chatCompletionChunkSchema);
}
