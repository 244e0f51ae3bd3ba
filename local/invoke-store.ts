import { InvokeStore, InvokeStoreBase } from '@aws/lambda-invoke-store';
import type { Context } from 'aws-lambda';

/**
 * What Lambda Managed Instances' Node.js runtime sets for a function that takes overlapping
 * invocations (its default per vCPU). Nothing here enforces it: Powertools and the invoke store
 * only look at whether the variable is set.
 */
const OVERLAPPING_MAX_CONCURRENCY = '64';

let store: InvokeStoreBase | undefined;

/**
 * Lambda's per-invocation store (`awslambda.InvokeStore`, `@aws/lambda-invoke-store`), as the
 * Node.js runtime provides it. The logger and metrics are module-level objects every invocation
 * shares; a process that serves overlapping invocations (the local API, the workers, a benchmark
 * at a concurrency above 1) runs as Lambda Managed Instances do: `AWS_LAMBDA_MAX_CONCURRENCY` is
 * set and the store is AsyncLocalStorage-backed, so Powertools keeps each invocation's log keys
 * and metrics apart. One invocation at a time (classic Lambda) keeps the single-context store.
 * Call it before a handler module is loaded: the AWS SDK also asks for the store, and the first
 * ask decides its kind.
 */
export async function installInvokeStore(options: { overlapping: boolean }): Promise<void> {
  if (options.overlapping) process.env.AWS_LAMBDA_MAX_CONCURRENCY ??= OVERLAPPING_MAX_CONCURRENCY;
  const made = await InvokeStore.getInstanceAsync(options.overlapping);
  if (options.overlapping && !keepsContextsApart(made)) {
    throw new Error('The invoke store was already made single-context (an AWS SDK call came before installInvokeStore): overlapping invocations would share one context');
  }
  store = made;
}

/** A multi-context store forgets a context once its run is over; the single-context one keeps the last. */
function keepsContextsApart(candidate: InvokeStoreBase): boolean {
  candidate.run({}, () => undefined);
  return !candidate.hasContext();
}

function installed(): InvokeStoreBase {
  if (store === undefined) throw new Error('installInvokeStore() must run before a handler is loaded or invoked');
  return store;
}

/**
 * Runs a function's init (importing its handler module) in a context of its own: with
 * overlapping invocations, Powertools touches the store when the module-level metrics are made,
 * and the store refuses writes outside a context.
 */
export function runInit<T>(init: () => T): T {
  return installed().run({}, init);
}

/** Runs one invocation in its own context of the store, under its request id, as the runtime does. */
export function runInvocation<T>(context: Context, invoke: () => T): T {
  return installed().run({ [InvokeStoreBase.PROTECTED_KEYS.REQUEST_ID]: context.awsRequestId }, invoke);
}
