import type { ApiKeyRecord } from '../core/api-key';

/** API keys, looked up by the SHA-256 of the secret: the secret itself is never stored. */
export interface KeyStore {
  findByHash(keyHash: string): Promise<ApiKeyRecord | undefined>;
}
