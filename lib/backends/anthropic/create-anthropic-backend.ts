import type { AnthropicEntity } from '../../core/endpoint-config';
import type { ModelBackend } from '../../ports/model-backend';
import type { AnthropicBackendDeps } from './anthropic-client';
import { chat } from './chat';
import { streamChat } from './stream-chat';

export type { AnthropicBackendDeps } from './anthropic-client';

/** The Anthropic backend: chat only (the Messages API has no completions or embeddings). */
export type AnthropicBackend = Required<Pick<ModelBackend<AnthropicEntity>, 'chat' | 'streamChat'>>;

/**
 * A backend for Anthropic's Messages API, over node:http(s) with no provider SDK. OpenAI chat
 * requests are translated into Messages requests (see `toMessagesRequest` for what is kept,
 * dropped or refused) and the answers, streamed or not, back into OpenAI's shapes with usage.
 * The key is read through `deps.secrets` on each call (the store caches it) and sent as
 * `x-api-key`; errors are translated as `ModelBackend` promises.
 */
export function createAnthropicBackend(deps: AnthropicBackendDeps): AnthropicBackend {
  return {
    chat: (call) => chat(deps, call),
    streamChat: (call) => streamChat(deps, call),
  };
}
