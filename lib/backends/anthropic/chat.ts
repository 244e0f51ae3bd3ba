import type { AnthropicEntity } from '../../core/endpoint-config';
import type { ChatCompletion, ChatCompletionRequest } from '../../core/openai-api';
import type { BackendCall } from '../../ports/model-backend';
import { readJsonAnswer } from '../provider-http/provider-fetch';
import { postToAnthropic, type AnthropicBackendDeps } from './anthropic-client';
import { messageSchema } from './messages-api';
import { toChatCompletion } from './to-chat-completion';
import { toMessagesRequest } from './to-messages-request';

/** An OpenAI chat request answered in one piece by the Messages API. */
export async function chat(deps: AnthropicBackendDeps, call: BackendCall<AnthropicEntity, ChatCompletionRequest>): Promise<ChatCompletion> {
  const request = toMessagesRequest(call.input, call.entity);
  const answer = await postToAnthropic(deps, call, request, 'application/json');
  const message = await readJsonAnswer(answer.response, messageSchema, answer.context);
  return toChatCompletion(message, Math.floor((deps.now ?? Date.now)() / 1000));
}
