import { z } from 'zod';

/** How many events of a response stream are sent before the fault strikes (0: right after the headers). */
const afterChunks = z.number().int().min(0).max(100_000);

/** Fields every fault has. */
const common = {
  /** Applies to this many invocations, then clears itself; until deleted when absent. */
  times: z.number().int().min(1).max(1_000_000).optional(),
};

/** What a test or benchmark can make an endpoint do instead of (or before, or while) answering. */
export const faultSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('throttle'), ...common }),
  z.object({ kind: z.literal('not-ready'), ...common }),
  z.object({ kind: z.literal('unavailable'), ...common }),
  z.object({
    kind: z.literal('model-error'),
    /** The status the model container answers with (relayed as `OriginalStatusCode`). */
    originalStatus: z.number().int().min(400).max(599),
    /** The container's body (relayed as `OriginalMessage`). */
    message: z.string().optional(),
    ...common,
  }),
  z.object({
    kind: z.literal('delay'),
    /** How long the endpoint waits before answering normally. */
    ms: z.number().int().min(0).max(600_000),
    ...common,
  }),
  /** The container answers 200 with a body that is not valid JSON. */
  z.object({ kind: z.literal('malformed'), ...common }),
  /** Response streams only: one event per interval. */
  z.object({ kind: z.literal('slow-stream'), intervalMs: z.number().int().min(1).max(60_000), ...common }),
  /** Response streams only: that many PayloadParts, then the connection drops. */
  z.object({ kind: z.literal('stream-cut'), afterChunks, ...common }),
  /** Response streams only: that many PayloadParts, then an error event, then the end. */
  z.object({
    kind: z.literal('stream-error'),
    afterChunks,
    exception: z.enum(['ModelStreamError', 'InternalStreamFailure']).default('ModelStreamError'),
    message: z.string().optional(),
    ...common,
  }),
  /** Response streams only: PayloadParts of at most this many bytes, splitting SSE lines across parts. */
  z.object({ kind: z.literal('fragmented-stream'), bytes: z.number().int().min(1).max(65_536), ...common }),
]);

/**
 * An injected fault: `throttle` (400 ThrottlingException), `not-ready` (429
 * ModelNotReadyException), `unavailable` (503 ServiceUnavailable), `model-error` (424
 * ModelError with the given original status), `delay` (wait, then answer normally), `malformed`
 * (200 with a body that is not JSON); and for InvokeEndpointWithResponseStream only,
 * `slow-stream`, `stream-cut` (connection dropped mid-stream), `stream-error` (a
 * `ModelStreamError` or `InternalStreamFailure` event mid-stream) and `fragmented-stream`
 * (PayloadParts that split SSE lines, as real response streams may).
 */
export type Fault = z.input<typeof faultSchema>;

/** Whether a fault applies to an invocation: the stream faults leave InvokeEndpoint alone. */
export function faultApplies(fault: Fault, responseStream: boolean): boolean {
  return responseStream || !['slow-stream', 'stream-cut', 'stream-error', 'fragmented-stream'].includes(fault.kind);
}
