import type { OpenAiEntity } from '../../core/endpoint-config';
import { embeddingsSchema, type Embeddings, type EmbeddingsRequest } from '../../core/openai-api';
import type { BackendCall } from '../../ports/model-backend';
import { readJsonAnswer } from '../provider-http/provider-fetch';
import { postToOpenAi, type OpenAiBackendDeps } from './openai-client';

/** `POST /embeddings`: the caller's body as it is, with the entity's model. */
export async function embed(deps: OpenAiBackendDeps, call: BackendCall<OpenAiEntity, EmbeddingsRequest>): Promise<Embeddings> {
  const answer = await postToOpenAi(deps, call, '/embeddings', { ...call.input }, 'application/json');
  return readJsonAnswer(answer.response, embeddingsSchema, answer.context);
}
