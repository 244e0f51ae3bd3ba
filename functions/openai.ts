import type { APIGatewayProxyEvent } from 'aws-lambda';
import { readEnvironment } from '../lib/config/environment';
import { wireInvocation } from '../lib/config/wire-invocation';
import { InternalError } from '../lib/core/errors';
import type { InvocationSurface } from '../lib/core/serve-invocation';
import { invocationHandler } from '../lib/http/invocation-handler';

// Cold start: a bad environment or endpoint config stops the function here, naming the field.
const deps = wireInvocation(readEnvironment(), 'behind-api-gateway');

const SURFACES: Readonly<Record<string, InvocationSurface>> = {
  '/v1/chat/completions': 'chat',
  '/v1/completions': 'completions',
  '/v1/embeddings': 'embeddings',
};

/** `POST /v1/chat/completions`, `/v1/completions`, `/v1/embeddings`: the endpoint is the body's `model`. */
export const handler = invocationHandler(deps, (event: APIGatewayProxyEvent) => {
  const surface = SURFACES[event.resource];
  // serverless.yml routes only these resources here; anything else is a deployment fault.
  if (surface === undefined) throw new InternalError(`No OpenAI-compatible surface at ${event.resource}`);
  return surface;
});
