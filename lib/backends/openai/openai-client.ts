import type { OpenAiEntity } from '../../core/endpoint-config';
import type { BackendCall } from '../../ports/model-backend';
import type { SecretStore } from '../../ports/secret-store';
import { postJson, type ProviderAnswer, type ProviderCallContext } from '../provider-http/provider-fetch';
import { readApiKey } from '../provider-http/read-api-key';
import { openAiErrorFrom } from './errors';

/** What the OpenAI backend needs from its caller. */
export interface OpenAiBackendDeps {
  secrets: SecretStore;
}

/** An accepted (2xx) answer, with what reading it further needs. */
export interface OpenAiAnswer {
  response: ProviderAnswer;
  context: ProviderCallContext;
  /** The key sent, so that anything the server echoes can be scrubbed of it. */
  apiKey: string | undefined;
}

/**
 * POSTs to `{baseUrl}{path}` with the entity's key as a bearer token and the entity's own model
 * name, and resolves with a 2xx answer; any other answer or a failed connection is thrown as our
 * error.
 */
export async function postToOpenAi(
  deps: OpenAiBackendDeps,
  call: BackendCall<OpenAiEntity, unknown>,
  path: '/chat/completions' | '/completions' | '/embeddings',
  body: Record<string, unknown>,
  accept: 'application/json' | 'text/event-stream',
): Promise<OpenAiAnswer> {
  const { entity } = call;
  const context: ProviderCallContext = { entity: entity.name, signal: call.signal };
  const apiKey = entity.apiKey === undefined ? undefined : await readApiKey(deps.secrets, entity.apiKey, context);
  const headers: Record<string, string> = { accept };
  if (apiKey !== undefined) headers.authorization = `Bearer ${apiKey}`;
  const response = await postJson(`${entity.baseUrl}${path}`, { headers, body: { ...body, model: entity.model } }, context);
  if (!response.ok) throw await openAiErrorFrom(response, context, apiKey);
  return { response, context, apiKey };
}
