import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';

/** Every key starts with this, so leaked keys are easy to spot by secret scanners. */
export const API_KEY_PREFIX = 'mgk_';
const API_KEY_PATTERN = /^mgk_[A-Za-z0-9_-]{43}$/;

export const roleSchema = z.enum(['invoke', 'auditor', 'admin']);
export type Role = z.infer<typeof roleSchema>;

/** What the key store holds for a key: never the secret, only its hash. */
export const apiKeyRecordSchema = z
  .object({
    keyId: z.string().min(1).max(64),
    keyHash: z.string().regex(/^[0-9a-f]{64}$/),
    tenant: z.string().min(1).max(64),
    roles: z.array(roleSchema).min(1),
    /** Endpoint names this key may query; `"*"` grants all. */
    endpoints: z.array(z.string().min(1)),
    status: z.enum(['active', 'suspended', 'revoked']),
    createdAt: z.iso.datetime(),
  })
  .strict();
export type ApiKeyRecord = z.infer<typeof apiKeyRecordSchema>;

/** Who is calling, once the key is known to be good. */
export interface Principal {
  keyId: string;
  tenant: string;
  roles: readonly Role[];
  endpoints: readonly string[];
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
