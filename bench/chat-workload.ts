import { OPENAI_KEY_PARAMETER } from '../local/stack';

/**
 * bench:compare's workload, which the in-process benchmarks share: one OpenAI chat request for
 * the local OpenAI-compatible server's toy model, which modelgate serves as an endpoint of the same
 * name (so every target gets byte-identical bodies), its provider key in the SSM stand-in.
 */
export const CHAT_WORKLOAD = {
  model: 'toy-gpt',
  path: '/v1/chat/completions',
  keyParameter: OPENAI_KEY_PARAMETER,
} as const;

/** The request's body; `stream` asks for the answer as Server-Sent Events. */
export function chatBody(options: { stream?: boolean } = {}): string {
  return JSON.stringify({ model: CHAT_WORKLOAD.model, messages: [{ role: 'user', content: 'Hello there' }], max_tokens: 16, ...(options.stream ? { stream: true } : {}) });
}
