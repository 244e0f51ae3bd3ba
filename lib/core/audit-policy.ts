import { z } from 'zod';
import { parseFieldPath } from './field-path';
import { MASKABLE_PATTERNS, type MaskablePattern } from './sensitive-text';

const fieldPath = z.string().superRefine((source, context) => {
  try {
    parseFieldPath(source);
  } catch (error) {
    context.addIssue({ code: 'custom', message: `invalid field path: ${(error as Error).message}` });
  }
});

/**
 * What is removed from an endpoint's audit records before they leave the gateway (and so before
 * anything is persisted anywhere). Secrets (bearer tokens, API keys, AWS keys, private keys,
 * passwords) are always masked; the `patterns` choose which other values are masked wherever
 * they appear.
 */
export const redactionPolicySchema = z
  .object({
    /** Field paths removed from the bodies, e.g. `request.params.debug`. */
    drop: z.array(fieldPath).max(100).default([]),
    /** Field paths whose values become `"[REDACTED]"`, e.g. `request.dataframe_records[*].name`. */
    mask: z.array(fieldPath).max(100).default([]),
    /** Values masked wherever they appear in the record: e-mail addresses, phone numbers, card numbers. */
    patterns: z
      .array(z.enum(MASKABLE_PATTERNS as [MaskablePattern, ...MaskablePattern[]]))
      .default([...MASKABLE_PATTERNS])
      .refine((patterns) => new Set(patterns).size === patterns.length, 'patterns must not repeat'),
  })
  .strict();

/** An endpoint's audit settings (`audit` in the endpoint config). */
export const auditPolicySchema = z
  .object({
    /**
     * Fail closed: a request whose audit record cannot be handed off is not served (503). Only an
     * explicit `false` lets an endpoint answer when the audit log is unavailable.
     */
    required: z.boolean().default(true),
    redaction: redactionPolicySchema.prefault({}),
  })
  .strict();

export type RedactionPolicy = z.infer<typeof redactionPolicySchema>;
export type AuditPolicy = z.infer<typeof auditPolicySchema>;

/** The policy of an endpoint that declares none, and of requests to no endpoint at all. */
export function defaultAuditPolicy(): AuditPolicy {
  return auditPolicySchema.parse({});
}
