import { z } from 'zod';

/** What a test or benchmark can make an endpoint do instead of (or before) answering. */
export const faultSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('throttle') }),
  z.object({ kind: z.literal('not-ready') }),
  z.object({ kind: z.literal('unavailable') }),
  z.object({
    kind: z.literal('model-error'),
    /** The status the model container answers with (relayed as `OriginalStatusCode`). */
    originalStatus: z.number().int().min(400).max(599),
    /** The container's body (relayed as `OriginalMessage`). */
    message: z.string().optional(),
  }),
  z.object({
    kind: z.literal('delay'),
    /** How long the endpoint waits before answering normally. */
    ms: z.number().int().min(0).max(600_000),
  }),
]);

/**
 * An injected fault: `throttle` (400 ThrottlingException), `not-ready` (429
 * ModelNotReadyException), `unavailable` (503 ServiceUnavailable), `model-error` (424
 * ModelError with the given original status), or `delay` (wait, then answer normally).
 */
export type Fault = z.infer<typeof faultSchema>;
