import type { ChatCompletionRequest, ChatMessage, CompletionRequest, EmbeddingsRequest, OpenAiUsage } from './openai-api';

/** Tokens one LLM request consumed, as billed. */
export interface TokenUsage {
  input: number;
  output: number;
  /** True when the backend reported no counts and these are modelgate's estimate. */
  estimated: boolean;
}

/**
 * modelgate's estimate where a backend reports no token counts: one token per four bytes of UTF-8
 * text, the rule of thumb OpenAI documents for English. The same text always gives the same count,
 * so a streamed and a non-streamed call of the same request are billed the same.
 */
export function estimateTokens(text: string): number {
  return Math.ceil(Buffer.byteLength(text, 'utf8') / 4);
}

/** The backend's counts when it gave them, else the estimate from the prompt and output text. */
export function tokenUsage(reported: OpenAiUsage | null | undefined, promptText: () => string, outputText: () => string): TokenUsage {
  if (reported) {
    return { input: reported.prompt_tokens, output: reported.completion_tokens ?? 0, estimated: false };
  }
  return { input: estimateTokens(promptText()), output: estimateTokens(outputText()), estimated: true };
}

/** Usage in OpenAI's shape, for answers whose backend gave none. */
export function openAiUsage(usage: TokenUsage): OpenAiUsage {
  return { prompt_tokens: usage.input, completion_tokens: usage.output, total_tokens: usage.input + usage.output };
}

/**
 * What an assistant's answer message generated, as text to estimate from: its content, a refusal,
 * and each tool call's name and arguments (a tool-calling answer may have no content at all). Read
 * from the loose message as backends send it: anything not of the expected type counts as nothing.
 */
export function answerMessageText(message: { content?: unknown; refusal?: unknown; tool_calls?: unknown }): string {
  const parts = [message.content, message.refusal].filter((part): part is string => typeof part === 'string');
  if (Array.isArray(message.tool_calls)) {
    for (const call of message.tool_calls as Array<{ function?: { name?: unknown; arguments?: unknown } } | null>) {
      const fn = call?.function;
      if (typeof fn?.name === 'string') parts.push(fn.name);
      if (typeof fn?.arguments === 'string') parts.push(fn.arguments);
    }
  }
  return parts.join('');
}

function messageText(message: ChatMessage): string {
  const { content } = message;
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  // Images, audio and files are not estimated: backends that take them report their counts.
  return content.map((part) => (part.type === 'text' ? part.text : part.type === 'refusal' ? part.refusal : '')).join('');
}

/**
 * The text a chat request sends to the model: every message's content, an assistant's earlier tool
 * calls, and the tools it may call (their definitions are prompt too, as providers bill them).
 */
export function chatPromptText(request: ChatCompletionRequest): string {
  const messages = request.messages.map((message) => messageText(message) + (message.role === 'assistant' ? answerMessageText({ tool_calls: message.tool_calls }) : ''));
  const tools = Array.isArray(request.tools) && request.tools.length > 0 ? [JSON.stringify(request.tools)] : [];
  return [...messages, ...tools].join('\n');
}

export function completionPromptText(request: CompletionRequest): string {
  return typeof request.prompt === 'string' ? request.prompt : request.prompt.join('\n');
}

/**
 * The input tokens of an embeddings request: counted when it sends token ids (their digits say
 * nothing of their number), else estimated from its text.
 */
export function embeddingsInputTokens(request: EmbeddingsRequest): { tokens: number; estimated: boolean } {
  const { input } = request;
  if (typeof input === 'string') return { tokens: estimateTokens(input), estimated: true };
  if (input.every((item) => typeof item === 'number')) return { tokens: input.length, estimated: false };
  return { tokens: estimateTokens(input.join('\n')), estimated: true };
}

/** Usage of an embeddings call: the backend's counts when it gave them, else the input's. */
export function embeddingsUsage(reported: OpenAiUsage | null | undefined, request: EmbeddingsRequest): TokenUsage {
  if (reported) return tokenUsage(reported, () => '', () => '');
  const { tokens, estimated } = embeddingsInputTokens(request);
  return { input: tokens, output: 0, estimated };
}
