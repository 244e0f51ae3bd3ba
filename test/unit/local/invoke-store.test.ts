import { InvokeStoreBase } from '@aws/lambda-invoke-store';
import type { Context } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';

// The store is made once per process, and these tests must not set AWS_LAMBDA_MAX_CONCURRENCY for
// the other tests of this worker: each imports a fresh module and checks the single-context store.
async function freshInvokeStore() {
  vi.resetModules();
  return import('../../../local/invoke-store');
}

const contextOf = (awsRequestId: string) => ({ awsRequestId }) as Context;

describe('the local invoke store (Lambda runtime stand-in)', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('refuses to run a handler before it is installed, naming what to call', async () => {
    const { runInvocation, runInit } = await freshInvokeStore();
    expect(() => runInvocation(contextOf('r-1'), () => 1)).toThrow(/installInvokeStore\(\) must run before a handler is loaded or invoked/);
    expect(() => runInit(() => 1)).toThrow(/installInvokeStore/);
  });

  it('runs an invocation under its request id and hands back its result', async () => {
    // Prepare
    const { installInvokeStore, runInvocation } = await freshInvokeStore();
    await installInvokeStore({ overlapping: false });
    const store = (globalThis as { awslambda?: { InvokeStore?: InvokeStoreBase } }).awslambda?.InvokeStore;
    // Act
    const seen = runInvocation(contextOf('r-2'), () => store?.getRequestId());
    // Assess
    expect(seen).toBe('r-2');
  });

  it('refuses overlapping invocations once the store was made single-context, instead of letting them share it', async () => {
    // Prepare: a single-context store, as an AWS SDK call made before the install would leave.
    vi.stubEnv('AWS_LAMBDA_MAX_CONCURRENCY', undefined);
    const { installInvokeStore } = await freshInvokeStore();
    await installInvokeStore({ overlapping: false });
    // Act / Assess
    await expect(installInvokeStore({ overlapping: true })).rejects.toThrow(/already made single-context/);
  });
});
