import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from '../core/errors';
import { createEndpointRegistry, type EndpointRegistry } from '../core/endpoint-registry';

/**
 * Reads and validates the endpoint configuration file at cold start; a bad file stops the
 * function from starting, with the field named, instead of failing requests one by one.
 */
export function loadEndpointRegistry(path: string): EndpointRegistry {
  const fullPath = resolve(path);
  let document: unknown;
  try {
    document = JSON.parse(readFileSync(fullPath, 'utf8'));
  } catch (cause) {
    throw new ConfigError(`Cannot read endpoint config ${fullPath}: ${(cause as Error).message}`, { cause });
  }
  return createEndpointRegistry(document, `endpoint config ${path}`);
}
