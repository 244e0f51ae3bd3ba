import type { ApiKeyRecord, KeyLimits, KeyStatus } from '../core/api-key';

/** API keys, looked up by the SHA-256 of the secret: the secret itself is never stored. */
export interface KeyStore {
  findByHash(keyHash: string): Promise<ApiKeyRecord | undefined>;
}

/** A status change an admin or an abuse rule asks for, allowed only from the statuses given. */
export interface KeyStatusChange {
  from: readonly KeyStatus[];
  to: KeyStatus;
  /** At most `MAX_STATUS_REASON_LENGTH` characters, as the key record holds. */
  reason: string;
  at: Date;
  /** The abuse finding that suspended the key automatically. */
  suspendedByFinding?: string;
}

/** What the key CLI and the abuse rules do with keys. */
export interface KeyAdminStore extends KeyStore {
  /** @throws when a key with the same hash already exists (never overwrites one). */
  create(record: ApiKeyRecord): Promise<void>;
  get(keyId: string): Promise<ApiKeyRecord | undefined>;
  /** Every key, or a tenant's; oldest first. */
  list(filter?: { tenant?: string }): Promise<ApiKeyRecord[]>;
  /**
   * Moves a key to `to` if its status is one of `from`, atomically (a revoked key is never
   * reactivated by a racing lift). Undefined when no such key; `changed: false` when its status did not allow it.
   * @throws InvalidRequestError, writing nothing, when the reason or finding id is longer than the key's record holds.
   */
  changeStatus(keyId: string, change: KeyStatusChange): Promise<{ changed: boolean; record: ApiKeyRecord } | undefined>;
  /**
   * Replaces a key's own rate limits (undefined: none).
   * @throws InvalidRequestError, writing nothing, when the limits are outside what the key's record holds.
   */
  setLimits(keyId: string, limits: KeyLimits | undefined): Promise<ApiKeyRecord | undefined>;
  /**
   * Marks an active key as replaced: revoked at once, or working until `expiresAt` (a rotation's
   * grace period). Undefined when the key is unknown, no longer active (suspended or revoked
   * meanwhile: it keeps that status) or already rotated.
   * @throws InvalidRequestError, writing nothing, when `rotatedTo` is longer than the key's record holds.
   */
  markRotated(keyId: string, rotation: { rotatedTo: string; at: Date; expiresAt?: Date }): Promise<ApiKeyRecord | undefined>;
}
