import type { SecretRef } from '../../core/endpoint-config';
import { BadGatewayError } from '../../core/errors';
import type { SecretStore } from '../../ports/secret-store';

/**
 * Reads a served entity's provider key from the secret store (which caches it). A key that cannot
 * be read is our configuration's fault: a 502 naming the entity, with the store's error (which
 * names the reference, never a value) as the cause.
 */
export async function readApiKey(secrets: SecretStore, ref: SecretRef, entity: string): Promise<string> {
  try {
    return await secrets.read(ref);
  } catch (error) {
    throw new BadGatewayError('MODEL_ERROR', `The API key of served entity ${entity} could not be read`, { cause: error });
  }
}
