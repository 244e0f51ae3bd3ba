import { z } from 'zod';

/** How many events of a stream are sent before the fault strikes (0: right after the headers). */
const afterChunks = z.number().int().min(0).max(100_000);

/** Fields every fault has. */
const common = {
  /** Applies to this many calls, then clears itself; until deleted when absent. */
  times: z.number().int().min(1).max(1_000_000).optional(),
};

/**
 * What a test can make a model of the local OpenAI-compatible or Anthropic server do instead of
 * (or while) answering. The `stream-*` and `slow-stream` faults apply to streamed calls only.
 */
export const providerFaultSchema = z.discriminatedUnion('kind', [
  /** 429 in the provider's rate-limit shape, with `retry-after` when given. */
  z.object({ kind: z.literal('throttle'), retryAfterSeconds: z.number().int().min(0).max(3600).optional(), ...common }).strict(),
  /** 503 (OpenAI) or 529 `overloaded_error` (Anthropic). */
  z.object({ kind: z.literal('unavailable'), ...common }).strict(),
  /** 500 in the provider's server-error shape. */
  z.object({ kind: z.literal('server-error'), ...common }).strict(),
  /** 400 from the model itself (the prompt is over its context window): never worth retrying. */
  z.object({ kind: z.literal('bad-request'), ...common }).strict(),
  /** 200 whose body (or a streamed event) is not valid JSON. */
  z.object({ kind: z.literal('malformed'), ...common }).strict(),
  /** Wait, then answer normally. */
  z.object({ kind: z.literal('delay'), ms: z.number().int().min(0).max(600_000), ...common }).strict(),
  /** Stream normally, but one event per interval. */
  z.object({ kind: z.literal('slow-stream'), intervalMs: z.number().int().min(1).max(60_000), ...common }).strict(),
  /** Send that many stream events, then drop the connection (no end-of-stream marker). */
  z.object({ kind: z.literal('stream-cut'), afterChunks, ...common }).strict(),
  /** Send that many stream events, then the provider's in-stream error event, then end. */
  z.object({ kind: z.literal('stream-error'), afterChunks, ...common }).strict(),
  /** Stream normally, but in writes of at most this many bytes, splitting events (and UTF-8 characters) across them. */
  z.object({ kind: z.literal('fragmented-stream'), bytes: z.number().int().min(1).max(65_536), ...common }).strict(),
]);

/** A fault injected into one model of a local provider server. */
export type ProviderFault = z.infer<typeof providerFaultSchema>;

/** Whether a fault applies to a call: the stream faults leave non-streamed calls alone. */
export function providerFaultApplies(fault: ProviderFault, streamed: boolean): boolean {
  return streamed || !['slow-stream', 'stream-cut', 'stream-error', 'fragmented-stream'].includes(fault.kind);
}
