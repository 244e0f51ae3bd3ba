import { endpointRegistryOf, type EndpointRegistry } from '../core/endpoint-registry';
import { loadEndpointConfig } from './load-endpoint-config';

/** The serving endpoints of the configuration file, indexed by name (read once per container). */
export function loadEndpointRegistry(path: string): EndpointRegistry {
  return endpointRegistryOf(loadEndpointConfig(path));
}
