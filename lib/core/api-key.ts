import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { describeIssues } from './describe-issues';
import { InvalidRequestError } from './errors';

/** Every key starts with this, so leaked keys are easy to spot by secret scanners. */
export const API_KEY_PREFIX = 'mgk_';
const API_KEY_PATTERN = /^mgk_[A-Za-z0-9_-]{43}$/;

export const roleSchema = z.enum(['invoke', 'auditor', 'admin']);
export type Role = z.infer<typeof roleSchema>;

/** Tenant names appear in table keys, reports and metric dimensions. */
export const tenantNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'must be 1-63 lowercase letters, digits, ".", "_" or "-", starting with a letter or digit');

/**
 * A key's own rate limits, across every endpoint it calls and every gateway instance (fixed
 * one-minute windows held in the limits table). Absent: no per-key limit.
 */
export const keyLimitsSchema = z
  .object({
    requestsPerMinute: z.number().int().min(1).max(1_000_000).optional(),
    /** Input plus output tokens (LLM endpoints); reserved before the call, settled after. */
    tokensPerMinute: z.number().int().min(1).max(1_000_000_000).optional(),
  })
  .strict();
export type KeyLimits = z.infer<typeof keyLimitsSchema>;

export const keyStatusSchema = z.enum(['active', 'suspended', 'revoked']);
export type KeyStatus = z.infer<typeof keyStatusSchema>;

/** The longest status reason a key record holds; the key CLI's `--reason` has the same limit. */
export const MAX_STATUS_REASON_LENGTH = 500;

/** What the key store holds for a key: never the secret, only its hash. */
export const apiKeyRecordSchema = z
  .object({
    keyId: z.string().min(1).max(64),
    keyHash: z.string().regex(/^[0-9a-f]{64}$/),
    tenant: z.string().min(1).max(64),
    roles: z.array(roleSchema).min(1),
    /** Endpoint names this key may query; `"*"` grants all. */
    endpoints: z.array(z.string().min(1)),
    status: keyStatusSchema,
    createdAt: z.iso.datetime(),
    /** A label for people ("ci pipeline", "alice's notebook"); never used for access. */
    name: z.string().max(100).optional(),
    limits: keyLimitsSchema.optional(),
    /** Why the key is suspended or revoked, and who did it (an admin, or an abuse finding). */
    statusReason: z.string().max(MAX_STATUS_REASON_LENGTH, `at most ${MAX_STATUS_REASON_LENGTH} characters`).optional(),
    statusChangedAt: z.iso.datetime().optional(),
    /** The finding that suspended the key automatically, when one did. */
    suspendedByFinding: z.string().max(200).optional(),
    /** After a rotation with a grace period, the old key stops working at this time. */
    expiresAt: z.iso.datetime().optional(),
    /** The key that replaced this one in a rotation. */
    rotatedTo: z.string().min(1).max(64).optional(),
  })
  .strict();
export type ApiKeyRecord = z.infer<typeof apiKeyRecordSchema>;

const keyRecordFieldsSchema = apiKeyRecordSchema.partial();

/**
 * Refuses an update whose fields a key record could not hold. Every read parses the record, so a
 * field written past its limits would fail them all: the key would stop authenticating and drop
 * out of every admin command. The key store checks each update with this before writing it. A
 * machine-built status reason is shortened first (`shortenStatusReason`); one a person typed is
 * refused, to be said again shorter.
 * @throws InvalidRequestError naming the field and its limit.
 */
export function checkKeyUpdateFits(keyId: string, fields: Partial<ApiKeyRecord>): void {
  const parsed = keyRecordFieldsSchema.safeParse(fields);
  if (!parsed.success) throw new InvalidRequestError(`Key ${keyId} was not changed: ${describeIssues(parsed.error.issues)}`);
}

/** A status reason cut to what a key record holds, with an ellipsis where it was cut; its start (what did it, to whom) stays whole. */
export function shortenStatusReason(reason: string): string {
  if (reason.length <= MAX_STATUS_REASON_LENGTH) return reason;
  let end = MAX_STATUS_REASON_LENGTH - 1;
  // Lengths count UTF-16 units: a cut between a surrogate pair would leave half a character.
  const last = reason.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${reason.slice(0, end)}…`;
}

/** Who is calling, once the key is known to be good. */
export interface Principal {
  keyId: string;
  tenant: string;
  roles: readonly Role[];
  endpoints: readonly string[];
  limits?: KeyLimits | undefined;
}

/**
 * SHA-256 of the whole key. Keys are 256 random bits, so a fast unsalted hash is safe here
 * (nothing to brute-force), and it lets the store look a key up by its hash alone.
 */
export function hashApiKey(apiKey: string): string {
  return createHash('sha256').update(apiKey, 'utf8').digest('hex');
}

export interface KeyGrant {
  tenant: string;
  roles: Role[];
  endpoints: string[];
  now: Date;
  name?: string | undefined;
  limits?: KeyLimits | undefined;
}

/** The record to store for a key: its hash and grants, never the key itself. */
export function apiKeyRecordFor(apiKey: string, grant: KeyGrant): ApiKeyRecord {
  const keyHash = hashApiKey(apiKey);
  return {
    // The id is derived from the hash so it can be shown and logged without revealing the key.
    keyId: `key_${keyHash.slice(0, 16)}`,
    keyHash,
    tenant: grant.tenant,
    roles: grant.roles,
    endpoints: grant.endpoints,
    status: 'active',
    createdAt: grant.now.toISOString(),
    ...(grant.name === undefined ? {} : { name: grant.name }),
    ...(grant.limits === undefined || Object.keys(grant.limits).length === 0 ? {} : { limits: grant.limits }),
  };
}

/** A new secret: 256 random bits behind the prefix. */
export function newApiKey(): string {
  return API_KEY_PREFIX + randomBytes(32).toString('base64url');
}

/** A new key: the secret to hand out once, and the record to store. */
export function generateApiKey(grant: KeyGrant): { apiKey: string; record: ApiKeyRecord } {
  const apiKey = newApiKey();
  return { apiKey, record: apiKeyRecordFor(apiKey, grant) };
}

/** Whether a string has the shape of one of our keys (checked before any store lookup). */
export function isWellFormedApiKey(candidate: string): boolean {
  return API_KEY_PATTERN.test(candidate);
}
