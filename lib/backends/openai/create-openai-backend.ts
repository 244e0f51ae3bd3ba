import type { OpenAiEntity } from '../../core/endpoint-config';
import type { ModelBackend } from '../../ports/model-backend';
import { chatComplete, streamChatComplete } from './chat-complete';
import { complete, streamComplete } from './complete';
import { embed } from './embed';
import type { OpenAiBackendDeps } from './openai-client';

export type { OpenAiBackendDeps } from './openai-client';

/** The OpenAI-compatible backend: every LLM capability, no `predict`. */
export type OpenAiBackend = Required<Pick<ModelBackend<OpenAiEntity>, 'chat' | 'streamChat' | 'complete' | 'streamComplete' | 'embed'>>;

/**
 * A backend for any server speaking OpenAI's HTTP API (OpenAI itself, vLLM, TGI, Ollama...),
 * over node:http(s) with no provider SDK. Requests go out as the caller sent them, with the
 * entity's `model`; the key (if the entity has one) is read through `deps.secrets` on each call
 * (the store caches it) and sent as a bearer token. Answers are checked against the OpenAI
 * schemas; errors are translated as `ModelBackend` promises.
 */
export function createOpenAiBackend(deps: OpenAiBackendDeps): OpenAiBackend {
  return {
    chat: (call) => chatComplete(deps, call),
    streamChat: (call) => streamChatComplete(deps, call),
    complete: (call) => complete(deps, call),
    streamComplete: (call) => streamComplete(deps, call),
    embed: (call) => embed(deps, call),
  };
}
