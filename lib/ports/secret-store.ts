import type { SecretRef } from '../core/endpoint-config';

/**
 * Reads secrets (provider API keys) from where the config points: SSM Parameter Store or Secrets
 * Manager. Implementations cache per container and never log the value.
 */
export interface SecretStore {
  /** The secret's value; throws `ConfigError` when it cannot be read. */
  read(ref: SecretRef): Promise<string>;
  /** The value if one was read within its cache lifetime, at once; else undefined (then `read`). */
  cached(ref: SecretRef): string | undefined;
}
