import { z } from 'zod';

/** Who a rule counts against: an API key, a client address (no key), or a tenant's queue producers (neither). */
export const abuseSubjectSchema = z.object({ kind: z.enum(['key', 'client-ip', 'producer']), id: z.string().min(1).max(100) }).strict();
export type AbuseSubject = z.infer<typeof abuseSubjectSchema>;

/** One rule firing for one subject in one window: what the security team reviews. */
export const abuseFindingSchema = z
  .object({
    /** `<rule>:<subject kind>:<subject>:<window start>`: the same window never fires twice. */
    findingId: z.string().min(1).max(300),
    rule: z.enum(['rateSpike', 'authFailures', 'badRequests', 'contentFlags']),
    subject: abuseSubjectSchema,
    tenant: z.string().nullable(),
    keyId: z.string().nullable(),
    windowStart: z.iso.datetime(),
    windowEnd: z.iso.datetime(),
    /** Requests the rule counted in the window, when it fired. */
    observed: z.number().int().min(0),
    threshold: z.number().min(0),
    /** Rate spikes: the key's mean per window before this one. */
    baseline: z.number().min(0).optional(),
    detectedAt: z.iso.datetime(),
    /** What the rule says to do. */
    action: z.enum(['finding', 'suspend']),
    /** What was done: the key suspended, or why not. Absent until the action ran. */
    actionTaken: z.enum(['none', 'suspended', 'already-inactive', 'not-a-key', 'key-not-found']).optional(),
    /** Some of the requests counted, to look up in the audit log. */
    sampleRequestIds: z.array(z.string()).max(10),
    detail: z.string().max(500),
  })
  .strict();
export type AbuseFinding = z.infer<typeof abuseFindingSchema>;
