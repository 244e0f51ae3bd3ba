import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from '../core/errors';
import type { EndpointConfig } from '../core/endpoint-config';
import { parseEndpointConfig } from '../core/endpoint-registry';

/**
 * The whole endpoint configuration document (price table and abuse rules included), read and
 * validated at cold start like the registry.
 */
export function loadEndpointConfig(path: string): EndpointConfig {
  const fullPath = resolve(path);
  let document: unknown;
  try {
    document = JSON.parse(readFileSync(fullPath, 'utf8'));
  } catch (cause) {
    throw new ConfigError(`Cannot read endpoint config ${fullPath}: ${(cause as Error).message}`, { cause });
  }
  return parseEndpointConfig(document, `endpoint config ${path}`);
}
