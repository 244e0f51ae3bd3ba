import type { AnthropicEntity } from '../../core/endpoint-config';
import type { BackendCall } from '../../ports/model-backend';
import type { SecretStore } from '../../ports/secret-store';
import { postJson, type ProviderAnswer, type ProviderCallContext } from '../provider-http/provider-fetch';
import { readApiKey } from '../provider-http/read-api-key';
import { anthropicErrorFrom } from './errors';
import type { MessagesRequest } from './messages-api';

/** What the Anthropic backend needs from its caller. */
export interface AnthropicBackendDeps {
  secrets: SecretStore;
  /** Milliseconds since the epoch, for the `created` field of answers; defaults to `Date.now`. */
  now?: () => number;
}

/** The Messages API version whose shapes the translation speaks. */
export const ANTHROPIC_VERSION = '2023-06-01';

/** An accepted (2xx) answer, with what reading it further needs. */
export interface AnthropicAnswer {
  response: ProviderAnswer;
  context: ProviderCallContext;
  /** The key sent, so that anything the server echoes can be scrubbed of it. */
  apiKey: string;
}

/** POSTs a Messages request with the entity's key; any non-2xx answer is thrown as our error. */
export async function postToAnthropic(
  deps: AnthropicBackendDeps,
  call: BackendCall<AnthropicEntity, unknown>,
  body: MessagesRequest,
  accept: 'application/json' | 'text/event-stream',
): Promise<AnthropicAnswer> {
  const { entity } = call;
  const context: ProviderCallContext = { entity: entity.name, signal: call.signal };
  const apiKey = await readApiKey(deps.secrets, entity.apiKey, context);
  const headers = { accept, 'x-api-key': apiKey, 'anthropic-version': ANTHROPIC_VERSION };
  const response = await postJson(`${entity.baseUrl}/v1/messages`, { headers, body }, context);
  if (!response.ok) throw await anthropicErrorFrom(response, context, apiKey);
  return { response, context, apiKey };
}
