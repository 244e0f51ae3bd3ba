import type { ChatCompletion, OpenAiUsage } from '../../core/openai-api';
import type { Message, MessagesUsage } from './messages-api';

/** Anthropic's stop reasons in OpenAI's words; anything new reads as a plain stop. */
const FINISH_REASONS: Readonly<Record<string, string>> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  pause_turn: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
};

/** OpenAI's `finish_reason` for an Anthropic `stop_reason`. */
export function finishReason(stopReason: string | null | undefined): string | null {
  if (stopReason === null || stopReason === undefined) return null;
  // Own members only: the provider's text must not reach Object.prototype's.
  return Object.hasOwn(FINISH_REASONS, stopReason) ? FINISH_REASONS[stopReason]! : 'stop';
}

/**
 * OpenAI's usage for Anthropic's. Anthropic counts cached prompt tokens apart from
 * `input_tokens`; OpenAI's `prompt_tokens` includes them, so they are added back (and the
 * cache reads reported as `cached_tokens`), which keeps billing by prompt tokens whole.
 */
export function toOpenAiUsage(usage: Partial<MessagesUsage>): OpenAiUsage {
  const cacheRead = usage.cache_read_input_tokens ?? 0;
  const prompt = (usage.input_tokens ?? 0) + (usage.cache_creation_input_tokens ?? 0) + cacheRead;
  const completion = usage.output_tokens ?? 0;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    ...(cacheRead > 0 ? { prompt_tokens_details: { cached_tokens: cacheRead } } : {}),
  };
}

/** An OpenAI tool call for an Anthropic `tool_use` block. */
export interface OpenAiToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/**
 * A whole Anthropic answer as an OpenAI `chat.completion`: its text blocks joined in order, its
 * `tool_use` blocks as `tool_calls` (input serialised as the arguments string OpenAI sends).
 */
export function toChatCompletion(message: Message, created: number): ChatCompletion {
  const texts = message.content.filter((block) => block.type === 'text').map((block) => block.text ?? '');
  const toolCalls: OpenAiToolCall[] = message.content
    .filter((block) => block.type === 'tool_use')
    .map((block) => ({ id: block.id ?? '', type: 'function', function: { name: block.name ?? '', arguments: JSON.stringify(block.input ?? {}) } }));
  return {
    id: message.id,
    object: 'chat.completion',
    created,
    model: message.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: texts.length > 0 ? texts.join('') : null,
          ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
        },
        finish_reason: finishReason(message.stop_reason),
        logprobs: null,
      },
    ],
    usage: toOpenAiUsage(message.usage),
  };
}
