import { z } from 'zod';

/** What a rule does when it fires: always a finding; `suspend` also suspends the key (when the subject is a key). */
const action = z.enum(['finding', 'suspend']);
const windowMinutes = z.number().int().min(1).max(1440);

/**
 * The abuse rules run over the usage stream (`abuse` in the endpoint config). Every rule counts
 * in fixed windows per subject (a key, or the client IP when the request had no known key) and
 * fires once per subject and window, when the count first reaches its threshold.
 */
export const abusePolicySchema = z
  .object({
    /** A key's requests in a window against its own baseline: the mean of its previous windows. */
    rateSpike: z
      .object({
        enabled: z.boolean().default(true),
        windowMinutes: windowMinutes.default(5),
        /** How many earlier windows make the baseline (12 × 5 min: the last hour). */
        baselineWindows: z.number().int().min(1).max(48).default(12),
        /** Fires at `factor` × baseline, and never below `minRequests`. */
        factor: z.number().min(1).max(1000).default(10),
        minRequests: z.number().int().min(1).default(300),
        action: action.default('finding'),
      })
      .strict()
      .prefault({}),
    /**
     * Key guessing and probing: 401s per client IP (unknown keys have no key id) and 403s per key
     * (a known key trying what it is not granted, or still trying after suspension or revocation).
     */
    authFailures: z
      .object({
        enabled: z.boolean().default(true),
        windowMinutes: windowMinutes.default(1),
        threshold: z.number().int().min(1).default(20),
        action: action.default('suspend'),
      })
      .strict()
      .prefault({}),
    /** Malformed (400) and oversized (413) requests per key, or per client IP without a key. */
    badRequests: z
      .object({
        enabled: z.boolean().default(true),
        windowMinutes: windowMinutes.default(1),
        threshold: z.number().int().min(1).default(50),
        action: action.default('finding'),
      })
      .strict()
      .prefault({}),
    /** Requests matching an endpoint's guardrail patterns, per key. */
    contentFlags: z
      .object({
        enabled: z.boolean().default(true),
        windowMinutes: windowMinutes.default(60),
        threshold: z.number().int().min(1).default(5),
        action: action.default('suspend'),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type AbusePolicy = z.infer<typeof abusePolicySchema>;
export type AbuseRuleName = keyof AbusePolicy;

export function defaultAbusePolicy(): AbusePolicy {
  return abusePolicySchema.parse({});
}
