import type { OpenAiEntity } from '../../core/endpoint-config';
import {
  completionChunkSchema,
  completionSchema,
  type Completion,
  type CompletionChunk,
  type CompletionRequest,
} from '../../core/openai-api';
import type { BackendCall } from '../../ports/model-backend';
import { readJsonAnswer } from '../provider-http/provider-fetch';
import { postToOpenAi, type OpenAiBackendDeps } from './openai-client';
import { readOpenAiStream } from './read-openai-stream';
import { streamingBody, unaryBody } from './request-body';

/** `POST /completions` (legacy text completions, which vLLM and TGI still serve), in one piece. */
export async function complete(deps: OpenAiBackendDeps, call: BackendCall<OpenAiEntity, CompletionRequest>): Promise<Completion> {
  const answer = await postToOpenAi(deps, call, '/completions', unaryBody(call.input), 'application/json');
  return readJsonAnswer(answer.response, completionSchema, answer.context);
}

/** `POST /completions` with `stream: true`, asking for usage in the last chunk. */
export async function* streamComplete(
  deps: OpenAiBackendDeps,
  call: BackendCall<OpenAiEntity, CompletionRequest>,
): AsyncGenerator<CompletionChunk> {
  const answer = await postToOpenAi(deps, call, '/completions', streamingBody(call.input), 'text/event-stream');
  yield* readOpenAiStream(answer, completionChunkSchema);
}
