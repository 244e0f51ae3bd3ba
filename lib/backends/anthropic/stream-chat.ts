import { describeIssues } from '../../core/describe-issues';
import type { AnthropicEntity } from '../../core/endpoint-config';
import { PROMPT_TOKENS, type ChatCompletionChunk, type ChatCompletionRequest } from '../../core/openai-api';
import type { BackendCall } from '../../ports/model-backend';
import { badBackendResponse, translateFetchFailure } from '../provider-http/provider-fetch';
import { MalformedStreamError, readServerSentEvents } from '../provider-http/server-sent-events';
import { postToAnthropic, type AnthropicBackendDeps } from './anthropic-client';
import { anthropicErrorEvent } from './errors';
import { messagesStreamEventSchema, type MessagesDeltaUsage, type MessagesUsage } from './messages-api';
import { finishReason, toOpenAiUsage } from './to-chat-completion';
import { toMessagesRequest } from './to-messages-request';

/** Event types the translation reads; the rest (`ping`, types Anthropic adds later) are skipped. */
const READ_EVENTS = new Set([
  'message_start',
  'content_block_start',
  'content_block_delta',
  'content_block_stop',
  'message_delta',
  'message_stop',
  'error',
]);

/**
 * An OpenAI chat request streamed by the Messages API, as OpenAI chunks: a first chunk with the
 * assistant role, one per text delta, one per tool call started and per piece of its arguments
 * (as OpenAI streams `tool_calls`; `{}` for a call that streamed none), one with the finish
 * reason, and at `message_stop` one usage chunk with no choices (input tokens from
 * `message_start`, output tokens from the last `message_delta`). An `error` event, a malformed
 * event, a broken connection or an end before `message_stop` throws from the `next()` that meets it.
 */
export async function* streamChat(
  deps: AnthropicBackendDeps,
  call: BackendCall<AnthropicEntity, ChatCompletionRequest>,
): AsyncGenerator<ChatCompletionChunk> {
  const request = toMessagesRequest(call.input, call.entity);
  const { response, context, apiKey } = await postToAnthropic(deps, call, { ...request, stream: true }, 'text/event-stream');

  const created = Math.floor((deps.now ?? Date.now)() / 1000);
  let started: { id: string; model: string } | undefined;
  let usage: Partial<MessagesUsage> = {};
  /** Anthropic content block index → its OpenAI tool call index, and whether any of its arguments arrived. */
  const toolCalls = new Map<number, { index: number; hasArguments: boolean }>();
  const chunk = (delta: ChatCompletionChunk['choices'][number]['delta'], reason: string | null = null): ChatCompletionChunk => ({
    id: started?.id ?? '',
    object: 'chat.completion.chunk',
    created,
    model: started?.model ?? call.entity.model,
    choices: [{ index: 0, delta, finish_reason: reason }],
  });

  try {
    for await (const { data } of readServerSentEvents(response.body)) {
      let payload: unknown;
      try {
        payload = JSON.parse(data);
      } catch (error) {
        throw badBackendResponse(context.entity, `stream event is not JSON: ${data.slice(0, 200)}`, error);
      }
      const type = (payload as { type?: unknown } | null)?.type;
      if (typeof type !== 'string' || !READ_EVENTS.has(type)) continue;
      const parsed = messagesStreamEventSchema.safeParse(payload);
      if (!parsed.success) throw badBackendResponse(context.entity, `stream event does not fit the protocol: ${describeIssues(parsed.error.issues)}`);
      const event = parsed.data;
      if (event.type === 'error') throw anthropicErrorEvent(event, context, apiKey);
      if (event.type === 'message_start') {
        started = { id: event.message.id, model: event.message.model };
        usage = { ...event.message.usage };
        // Known exactly now: a stream that fails later is billed for it, not for an estimate.
        yield Object.assign(chunk({ role: 'assistant', content: '' }), { [PROMPT_TOKENS]: toOpenAiUsage(usage).prompt_tokens });
        continue;
      }
      if (started === undefined) throw badBackendResponse(context.entity, `stream event ${event.type} before message_start`);
      switch (event.type) {
        case 'content_block_start': {
          const block = event.content_block;
          if (block.type === 'text' && block.text) yield chunk({ content: block.text });
          if (block.type === 'tool_use') {
            // OpenAI numbers tool calls from 0 within the message; Anthropic numbers all blocks.
            const index = toolCalls.size;
            toolCalls.set(event.index, { index, hasArguments: false });
            yield chunk({ tool_calls: [{ index, id: block.id ?? '', type: 'function', function: { name: block.name ?? '', arguments: '' } }] });
          }
          break;
        }
        case 'content_block_delta': {
          const { delta } = event;
          if (delta.type === 'text_delta' && delta.text) yield chunk({ content: delta.text });
          const toolCall = toolCalls.get(event.index);
          if (delta.type === 'input_json_delta' && delta.partial_json && toolCall !== undefined) {
            toolCall.hasArguments = true;
            yield chunk({ tool_calls: [{ index: toolCall.index, function: { arguments: delta.partial_json } }] });
          }
          break;
        }
        case 'content_block_stop': {
          // A tool without parameters streams no JSON; the whole answer gives "{}" for it, so must the stream.
          const toolCall = toolCalls.get(event.index);
          if (toolCall !== undefined && !toolCall.hasArguments) {
            yield chunk({ tool_calls: [{ index: toolCall.index, function: { arguments: '{}' } }] });
          }
          break;
        }
        case 'message_delta':
          usage = { ...usage, ...definedCounts(event.usage ?? {}) };
          if (event.delta.stop_reason != null) yield chunk({}, finishReason(event.delta.stop_reason));
          break;
        case 'message_stop':
          response.keepConnection();
          yield { ...chunk({}), choices: [], usage: toOpenAiUsage(usage) };
          return;
      }
    }
  } catch (error) {
    if (error instanceof MalformedStreamError) throw badBackendResponse(context.entity, error.message, error);
    throw translateFetchFailure(error, context);
  }
  // A stream that stops before message_stop was cut off; ending cleanly would pass off half an answer.
  throw badBackendResponse(context.entity, 'stream ended before message_stop');
}

/** The counts an event actually carries (a `null` count does not erase an earlier one). */
function definedCounts(counts: MessagesDeltaUsage): Partial<MessagesUsage> {
  return Object.fromEntries(Object.entries(counts).filter(([, value]) => typeof value === 'number'));
}
