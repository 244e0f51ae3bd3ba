import { ConfigError } from './errors';
import { endpointConfigSchema, type EndpointConfig, type ServingEndpoint } from './endpoint-config';
import { describeIssues } from './describe-issues';
import type { QueueProducer } from './async/queue-producers';

/** The serving endpoints by name, validated once at cold start. */
export interface EndpointRegistry {
  get(name: string): ServingEndpoint | undefined;
  names(): string[];
  /** Tenants that may send requests straight onto the async request queue. */
  queueProducers(): readonly QueueProducer[];
}

/**
 * Validates an endpoint configuration document, defaults applied.
 * @throws ConfigError naming the first offending field, e.g. `endpoints[1].timeoutMs`.
 */
export function parseEndpointConfig(document: unknown, source = 'endpoint config'): EndpointConfig {
  const parsed = endpointConfigSchema.safeParse(document);
  if (!parsed.success) {
    throw new ConfigError(`Invalid ${source}: ${describeIssues(parsed.error.issues)}`, { cause: parsed.error });
  }
  return parsed.data;
}

/**
 * Validates an endpoint configuration document and indexes it by endpoint name.
 * @throws ConfigError naming the first offending field, e.g. `endpoints[1].timeoutMs`.
 */
export function createEndpointRegistry(document: unknown, source = 'endpoint config'): EndpointRegistry {
  return endpointRegistryOf(parseEndpointConfig(document, source));
}

/** Indexes an already validated configuration by endpoint name. */
export function endpointRegistryOf(config: EndpointConfig): EndpointRegistry {
  const byName = new Map(config.endpoints.map((endpoint) => [endpoint.name, endpoint]));
  return {
    get: (name) => byName.get(name),
    names: () => [...byName.keys()],
    queueProducers: () => config.queueProducers,
  };
}
