import type { ChatCompletionRequest, CompletionRequest } from '../../core/openai-api';

/**
 * The caller's generation request for an answer in one piece. `stream_options` goes: OpenAI
 * refuses it on a request that does not stream.
 */
export function unaryBody(input: ChatCompletionRequest | CompletionRequest): Record<string, unknown> {
  const { stream_options: _streamOptions, ...rest } = input;
  return { ...rest, stream: false };
}

/** The caller's generation request, streamed, with token usage asked for in the last chunk. */
export function streamingBody(input: ChatCompletionRequest | CompletionRequest): Record<string, unknown> {
  return { ...input, stream: true, stream_options: { ...input.stream_options, include_usage: true } };
}
