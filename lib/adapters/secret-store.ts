import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import type { SecretRef } from '../core/endpoint-config';
import { ConfigError } from '../core/errors';
import type { SecretStore } from '../ports/secret-store';
import { TtlCache } from './ttl-cache';

export interface SecretStoreOptions {
  ssm: SSMClient;
  secretsManager: SecretsManagerClient;
  /** How long a value read is used before it is read again: the bound on a key rotation's delay. */
  cacheTtlMs: number;
  now?: () => number;
}

/**
 * Reads provider keys from SSM Parameter Store (`GetParameter` with decryption, so SecureStrings
 * come back in clear) or Secrets Manager (`GetSecretValue`, the `SecretString`), caching each
 * value per container for `cacheTtlMs`. Concurrent reads of the same reference share one call,
 * so a cold container under load asks once. Surrounding whitespace is trimmed (a key pasted with
 * its newline would otherwise be refused by the provider). Failures are not cached; they throw a
 * `ConfigError` naming the reference and the service's error name, never a value.
 */
export function createSecretStore(options: SecretStoreOptions): SecretStore {
  const now = options.now ?? Date.now;
  // Failures are never cached (no negative lifetime).
  const cache = new TtlCache<string>(options.cacheTtlMs, 0, now);

  async function fetchValue(ref: SecretRef): Promise<string> {
    let value: string | undefined;
    try {
      if ('ssmParameter' in ref) {
        const output = await options.ssm.send(new GetParameterCommand({ Name: ref.ssmParameter, WithDecryption: true }));
        value = output.Parameter?.Value;
      } else {
        const output = await options.secretsManager.send(new GetSecretValueCommand({ SecretId: ref.secretsManager }));
        if (output.SecretString === undefined) throw new ConfigError(`${describeSecretRef(ref)} holds no SecretString (binary secrets are not read)`);
        value = output.SecretString;
      }
    } catch (error) {
      if (error instanceof ConfigError) throw error;
      const reason = error instanceof Error ? error.name : 'unknown error';
      throw new ConfigError(`Could not read ${describeSecretRef(ref)}: ${reason}`, { cause: error });
    }
    const trimmed = value?.trim() ?? '';
    if (trimmed === '') throw new ConfigError(`${describeSecretRef(ref)} is empty`);
    return trimmed;
  }

  return {
    async read(ref) {
      // Failures are not cached, and a value is never empty: what comes back is a value.
      return (await cache.getOrLoad(cacheKey(ref), () => fetchValue(ref)))!;
    },
    cached(ref) {
      const entry = cache.get(cacheKey(ref));
      return entry.hit ? entry.value : undefined;
    },
  };
}

/** A reference as an operator reads it in an error: which service, which name. */
export function describeSecretRef(ref: SecretRef): string {
  return 'ssmParameter' in ref ? `SSM parameter ${ref.ssmParameter}` : `Secrets Manager secret ${ref.secretsManager}`;
}

function cacheKey(ref: SecretRef): string {
  return 'ssmParameter' in ref ? `ssm:${ref.ssmParameter}` : `secretsmanager:${ref.secretsManager}`;
}
