import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from '../core/errors';
import type { EndpointConfig } from '../core/endpoint-config';
import { parseEndpointConfig } from '../core/endpoint-registry';

/** Parsed configurations by full path: every part of a container's wiring shares one read. */
const loaded = new Map<string, EndpointConfig>();

/**
 * The whole endpoint configuration document (endpoints, price table, abuse rules), read and
 * validated once per container at cold start; a bad file stops the function from starting, with
 * the field named, instead of failing requests one by one.
 */
export function loadEndpointConfig(path: string): EndpointConfig {
  const fullPath = resolve(path);
  const cached = loaded.get(fullPath);
  if (cached !== undefined) return cached;
  let document: unknown;
  try {
    document = JSON.parse(readFileSync(fullPath, 'utf8'));
  } catch (cause) {
    throw new ConfigError(`Cannot read endpoint config ${fullPath}: ${(cause as Error).message}`, { cause });
  }
  const config = parseEndpointConfig(document, `endpoint config ${path}`);
  loaded.set(fullPath, config);
  return config;
}
