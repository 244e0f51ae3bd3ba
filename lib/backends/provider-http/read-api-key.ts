import type { SecretRef } from '../../core/endpoint-config';
import { BadGatewayError, GatewayTimeoutError } from '../../core/errors';
import type { SecretStore } from '../../ports/secret-store';
import type { ProviderCallContext } from './provider-fetch';

/**
 * Reads a served entity's provider key from the secret store (which caches it). A key that cannot
 * be read is our configuration's fault: a 502 naming the entity, with the store's error (which
 * names the reference, never a value) as the cause. A read still pending when the call's signal
 * aborts gives up with a 504, as the call itself would (the read goes on and fills the cache).
 */
export async function readApiKey(secrets: SecretStore, ref: SecretRef, context: ProviderCallContext): Promise<string> {
  const { entity, signal } = context;
  const timedOut = () => new GatewayTimeoutError(`Served entity ${entity} did not answer in time`, { cause: signal.reason });
  if (signal.aborted) throw timedOut();
  // Nearly every call finds the key cached: no read to race against the deadline.
  const known = secrets.cached(ref);
  if (known !== undefined) return known;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(timedOut());
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([
      secrets.read(ref).catch((error: unknown) => {
        throw new BadGatewayError('MODEL_ERROR', `The API key of served entity ${entity} could not be read`, { cause: error });
      }),
      aborted,
    ]);
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}
