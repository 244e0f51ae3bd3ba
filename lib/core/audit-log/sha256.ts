import { createHash } from 'node:crypto';

/** Hex SHA-256 of text (UTF-8) or bytes: the one hash of the audit log. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The "previous hash" of the first entry of a chain. */
export const GENESIS_SHA256 = '0'.repeat(64);
