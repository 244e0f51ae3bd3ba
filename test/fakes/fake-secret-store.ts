import type { SecretRef } from '../../lib/core/endpoint-config';
import { ConfigError } from '../../lib/core/errors';
import type { SecretStore } from '../../lib/ports/secret-store';

/** A secret store holding the values it was given, keyed by reference, recording every read. */
export class FakeSecretStore implements SecretStore {
  readonly reads: SecretRef[] = [];
  private readonly values = new Map<string, string>();

  set(ref: SecretRef, value: string): this {
    this.values.set(JSON.stringify(ref), value);
    return this;
  }

  /** Caches nothing: every use goes through `read`, and is recorded. */
  cached(): string | undefined {
    return undefined;
  }

  async read(ref: SecretRef): Promise<string> {
    this.reads.push(ref);
    const value = this.values.get(JSON.stringify(ref));
    if (value === undefined) throw new ConfigError(`Secret ${JSON.stringify(ref)} cannot be read`);
    return value;
  }
}
