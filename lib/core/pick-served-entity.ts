import { createHash } from 'node:crypto';
import type { ServedEntity, ServingEndpoint } from './endpoint-config';

/**
 * Picks the served entity for a request by the endpoint's traffic weights. The choice is a pure
 * function of the request id, so a retried or replayed request lands on the same entity.
 */
export function pickServedEntity(endpoint: ServingEndpoint, requestId: string): ServedEntity {
  const entities = endpoint.servedEntities;
  if (entities.length === 1) return entities[0] as ServedEntity;
  const total = entities.reduce((sum, entity) => sum + entity.weight, 0);
  let ticket = stableFraction(requestId) * total;
  for (const entity of entities) {
    if (ticket < entity.weight) return entity;
    ticket -= entity.weight;
  }
  // Only reachable through floating-point rounding at the top end.
  return entities.findLast((entity) => entity.weight > 0) as ServedEntity;
}

/** A uniform number in [0, 1) derived from the text. */
function stableFraction(text: string): number {
  const digest = createHash('sha256').update(text).digest();
  return digest.readUInt32BE(0) / 2 ** 32;
}
