import { afterEach, describe, expect, it, vi } from 'vitest';

// The tracer reads its settings when it is made, at import: each test imports a fresh module.
async function freshTracing(environment: Record<string, string>) {
  for (const [name, value] of Object.entries(environment)) vi.stubEnv(name, value);
  vi.resetModules();
  return import('../../lib/http/tracer');
}

function fakeClient() {
  return { send: () => undefined, middlewareStack: { add: vi.fn(), addRelativeTo: vi.fn(), remove: vi.fn(), use: vi.fn() } };
}

describe('X-Ray tracing', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('is on inside Lambda: the handler gets a segment and AWS clients get subsegments', async () => {
    const tracing = await freshTracing({ AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x', POWERTOOLS_TRACE_ENABLED: '' });
    const client = fakeClient();
    tracing.traced(client);
    expect(tracing.isTracingEnabled()).toBe(true);
    expect(tracing.tracingMiddleware()[0]?.before).toBeTypeOf('function');
    // X-Ray's instrumentation is added to the client's middleware stack.
    const stackCalls = Object.values(client.middlewareStack).reduce((calls, method) => calls + method.mock.calls.length, 0);
    expect(stackCalls).toBeGreaterThan(0);
  });

  it("stays off with the local stack's POWERTOOLS_TRACE_ENABLED=false, even with Lambda's variables present", async () => {
    // Prepare
    const tracing = await freshTracing({ AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x', POWERTOOLS_TRACE_ENABLED: 'false' });
    const client = fakeClient();
    // Act
    const captured = tracing.traced(client);
    // Assess: the client comes back untouched, so no call ever waits on an X-Ray daemon, and the
    // handler's middleware has nothing to do.
    expect(tracing.isTracingEnabled()).toBe(false);
    expect(captured).toBe(client);
    for (const method of Object.values(client.middlewareStack)) expect(method).not.toHaveBeenCalled();
    expect(tracing.tracingMiddleware()).toEqual([]);
  });

  it('stays off outside Lambda (tests, npm start) without any setting', async () => {
    const tracing = await freshTracing({ AWS_EXECUTION_ENV: '', POWERTOOLS_TRACE_ENABLED: '' });
    expect(tracing.isTracingEnabled()).toBe(false);
    expect(tracing.tracingMiddleware()).toEqual([]);
  });
});
