import { z } from 'zod';
import { BadGatewayError } from './errors';

const predictionResponseSchema = z.looseObject({ predictions: z.union([z.array(z.unknown()), z.record(z.string(), z.unknown())]) });

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Checks that a model's answer is a scoring response (`{"predictions": ...}`) and returns it parsed.
 * @throws BadGatewayError (502) when it is not JSON or has no predictions: a broken model must
 *   never become a crash or a 200 with garbage.
 */
export function parsePredictionResponse(body: Uint8Array): unknown {
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(body));
  } catch (error) {
    throw new BadGatewayError('BAD_BACKEND_RESPONSE', 'The model answered with something that is not JSON', { cause: error });
  }
  const parsed = predictionResponseSchema.safeParse(json);
  if (!parsed.success) {
    throw new BadGatewayError('BAD_BACKEND_RESPONSE', 'The model answered without predictions', { cause: parsed.error });
  }
  // The model's own value, not zod's copy: it is what the caller receives, byte for byte.
  return json;
}
