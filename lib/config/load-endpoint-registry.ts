import { isLoopbackUrl, type EndpointConfig, type SecretRef, type ServedEntity } from '../core/endpoint-config';
import { endpointRegistryOf, type EndpointRegistry } from '../core/endpoint-registry';
import { ConfigError } from '../core/errors';
import { loadEndpointConfig } from './load-endpoint-config';

/**
 * The serving endpoints of the configuration file, indexed by name (read once per container). In
 * AWS (`inLambda`), a provider on loopback is refused at cold start, naming it: nothing listens
 * there in Lambda, so the local stack's config deployed as it is would fail only when its
 * fallbacks were needed. So is, with the deployment's `stage` known, a provider key stored where
 * the stage's functions may not read it: it too would fail only at its first use (AccessDenied).
 */
export function loadEndpointRegistry(path: string, options: { inLambda: boolean; stage?: string | undefined } = { inLambda: false }): EndpointRegistry {
  const config = loadEndpointConfig(path);
  if (options.inLambda) {
    refuseLoopbackProviders(config, path);
    if (options.stage !== undefined) refuseKeysOutsideStage(config, path, options.stage);
  }
  return endpointRegistryOf(config);
}

/**
 * serverless.yml lets a stage's functions read parameters under `/modelgate/<stage>/` and secrets
 * under `modelgate/<stage>/` (by name, or by ARN), and nothing else.
 */
function refuseKeysOutsideStage(config: EndpointConfig, path: string, stage: string): void {
  const readable = (ref: SecretRef): boolean => {
    if ('ssmParameter' in ref) return ref.ssmParameter.startsWith(`/modelgate/${stage}/`);
    const at = ref.secretsManager.indexOf(':secret:');
    return (at === -1 ? ref.secretsManager : ref.secretsManager.slice(at + ':secret:'.length)).startsWith(`modelgate/${stage}/`);
  };
  refuseEntities(
    config,
    path,
    (entity) => 'apiKey' in entity && entity.apiKey !== undefined && !readable(entity.apiKey),
    `keep their API key where stage ${stage}'s functions may not read it; store it under /modelgate/${stage}/ (SSM) or modelgate/${stage}/ (Secrets Manager)`,
  );
}

function refuseLoopbackProviders(config: EndpointConfig, path: string): void {
  refuseEntities(
    config,
    path,
    (entity) => 'baseUrl' in entity && isLoopbackUrl(entity.baseUrl),
    'call a provider on loopback, which nothing serves in Lambda; deploy a config of your own (param endpointsConfig)',
  );
}

/** Refuses the config, naming every served entity (`endpoint/entity`) that `refused` picks and why. */
function refuseEntities(config: EndpointConfig, path: string, refused: (entity: ServedEntity) => boolean, why: string): void {
  const named = config.endpoints.flatMap((endpoint) => endpoint.servedEntities.filter(refused).map((entity) => `${endpoint.name}/${entity.name}`));
  if (named.length > 0) throw new ConfigError(`Invalid endpoint config ${path}: served entities ${named.join(', ')} ${why}`);
}
