import { isLoopbackUrl, type EndpointConfig } from '../core/endpoint-config';
import { endpointRegistryOf, type EndpointRegistry } from '../core/endpoint-registry';
import { ConfigError } from '../core/errors';
import { loadEndpointConfig } from './load-endpoint-config';

/**
 * The serving endpoints of the configuration file, indexed by name (read once per container). In
 * AWS (`inLambda`), a provider on loopback is refused at cold start, naming it: nothing listens
 * there in Lambda, so the local stack's config deployed as it is would fail only when its
 * fallbacks were needed.
 */
export function loadEndpointRegistry(path: string, options: { inLambda: boolean } = { inLambda: false }): EndpointRegistry {
  const config = loadEndpointConfig(path);
  if (options.inLambda) refuseLoopbackProviders(config, path);
  return endpointRegistryOf(config);
}

function refuseLoopbackProviders(config: EndpointConfig, path: string): void {
  const local = config.endpoints.flatMap((endpoint) =>
    endpoint.servedEntities.filter((entity) => 'baseUrl' in entity && isLoopbackUrl(entity.baseUrl)).map((entity) => `${endpoint.name}/${entity.name}`),
  );
  if (local.length > 0) {
    throw new ConfigError(`Invalid endpoint config ${path}: served entities ${local.join(', ')} call a provider on loopback, which nothing serves in Lambda; deploy a config of your own (param endpointsConfig)`);
  }
}
