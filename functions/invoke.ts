import { readEnvironment } from '../lib/config/environment';
import { wireInvocation } from '../lib/config/wire-invocation';
import { invocationHandler } from '../lib/http/invocation-handler';

// Cold start: a bad environment or endpoint config stops the function here, naming the field.
const deps = wireInvocation(readEnvironment(), 'behind-api-gateway');

/** `POST /serving-endpoints/{name}/invocations`: any task, the endpoint named in the path. */
export const handler = invocationHandler(deps, () => 'invocations');
