import { ConfigError } from './errors';
import { endpointConfigSchema, type ServingEndpoint } from './endpoint-config';
import { describeIssues } from './describe-issues';

/** The serving endpoints by name, validated once at cold start. */
export interface EndpointRegistry {
  get(name: string): ServingEndpoint | undefined;
  names(): string[];
}

/**
 * Validates an endpoint configuration document and indexes it by endpoint name.
 * @throws ConfigError naming the first offending field, e.g. `endpoints[1].timeoutMs`.
 */
export function createEndpointRegistry(document: unknown, source = 'endpoint config'): EndpointRegistry {
  const parsed = endpointConfigSchema.safeParse(document);
  if (!parsed.success) {
    throw new ConfigError(`Invalid ${source}: ${describeIssues(parsed.error.issues)}`, { cause: parsed.error });
  }
  const byName = new Map(parsed.data.endpoints.map((endpoint) => [endpoint.name, endpoint]));
  return {
    get: (name) => byName.get(name),
    names: () => [...byName.keys()],
  };
}
