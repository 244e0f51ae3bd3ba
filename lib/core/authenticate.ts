import { PermissionDeniedError, UnauthenticatedError } from './errors';
import { hashApiKey, isWellFormedApiKey, type ApiKeyRecord, type Principal } from './api-key';
import type { KeyStore } from '../ports/key-store';
import type { ServingEndpoint } from './endpoint-config';

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/**
 * Turns an `Authorization: Bearer <key>` header into the calling principal.
 * @throws UnauthenticatedError (401) when the header is missing, malformed or names no key;
 *   PermissionDeniedError (403) when the key is suspended, revoked or past its rotation grace period.
 */
export async function authenticate(authorization: string | undefined, keys: KeyStore, now: Date = new Date()): Promise<Principal> {
  if (authorization === undefined || authorization.trim() === '') {
    throw new UnauthenticatedError('Missing Authorization header; send "Authorization: Bearer <api key>"');
  }
  const match = BEARER.exec(authorization);
  if (!match?.[1]) {
    throw new UnauthenticatedError('Malformed Authorization header; expected "Bearer <api key>"');
  }
  const apiKey = match[1];
  // A malformed key cannot exist in the store: refuse it without a lookup.
  const record = isWellFormedApiKey(apiKey) ? await keys.findByHash(hashApiKey(apiKey)) : undefined;
  if (record === undefined) {
    throw new UnauthenticatedError('Invalid API key');
  }
  assertKeyUsable(record, now);
  return { keyId: record.keyId, tenant: record.tenant, roles: record.roles, endpoints: record.endpoints, limits: record.limits };
}

/** @throws PermissionDeniedError (403) unless the key is active and not past a rotation's grace period at `now`. */
export function assertKeyUsable(record: ApiKeyRecord, now: Date): void {
  if (record.status !== 'active') {
    throw new PermissionDeniedError(`API key ${record.keyId} is ${record.status}`);
  }
  // A rotated key keeps working through its grace period, then is refused like a revoked one.
  if (record.expiresAt !== undefined && Date.parse(record.expiresAt) <= now.getTime()) {
    throw new PermissionDeniedError(`API key ${record.keyId} expired at ${record.expiresAt} (it was rotated)`);
  }
}

/** @throws PermissionDeniedError (403) unless the principal may query the endpoint. */
export function authorizeInvocation(principal: Principal, endpoint: ServingEndpoint): void {
  if (!principal.roles.includes('invoke')) {
    throw new PermissionDeniedError(`API key ${principal.keyId} does not have the invoke role`);
  }
  if (!isGranted(principal, endpoint.name)) {
    throw new PermissionDeniedError(`API key ${principal.keyId} is not granted endpoint ${endpoint.name}`);
  }
}

/** Whether a key may call an endpoint: granted it by name, or all of them (`*`). */
export function isGranted(principal: Pick<Principal, 'endpoints'>, endpointName: string): boolean {
  return principal.endpoints.includes('*') || principal.endpoints.includes(endpointName);
}
