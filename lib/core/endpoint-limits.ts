import { z } from 'zod';

const perMinute = {
  requestsPerMinute: z.number().int().min(1).max(10_000_000).optional(),
  /** Input plus output tokens; reserved from the request before the call, settled to the real count after. */
  tokensPerMinute: z.number().int().min(1).max(10_000_000_000).optional(),
};

/**
 * An endpoint's rate limits (`limits` on a serving endpoint), held across every gateway instance
 * in fixed one-minute windows: the endpoint's total over all callers, and what each key may use
 * of it. A key's own limits (on the key) and its tenant's monthly budget apply as well.
 */
export const endpointLimitsSchema = z
  .object({
    ...perMinute,
    /** Each key's share of this endpoint. */
    perKey: z.object(perMinute).strict().optional(),
    /**
     * Output tokens reserved for a request that sets no `max_tokens`: what a budget and the token
     * limits hold for it until the real count is known.
     */
    reservedOutputTokens: z.number().int().min(0).max(1_000_000).default(1024),
  })
  .strict();

export type EndpointLimits = z.infer<typeof endpointLimitsSchema>;
