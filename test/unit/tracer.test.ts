import { afterEach, describe, expect, it, vi } from 'vitest';

// The tracer reads its settings when it is made, at import: each test imports a fresh module.
async function freshTracer(environment: Record<string, string>) {
  for (const [name, value] of Object.entries(environment)) vi.stubEnv(name, value);
  vi.resetModules();
  return (await import('../../lib/http/tracer')).tracer;
}

describe('X-Ray tracer', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('is on inside Lambda', async () => {
    const tracer = await freshTracer({ AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x', POWERTOOLS_TRACE_ENABLED: '' });
    expect(tracer.isTracingEnabled()).toBe(true);
  });

  it('stays off with the local stack\'s POWERTOOLS_TRACE_ENABLED=false, even with Lambda\'s variables present', async () => {
    // Prepare
    const tracer = await freshTracer({ AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x', POWERTOOLS_TRACE_ENABLED: 'false' });
    const client = { send: () => undefined, middlewareStack: { add: vi.fn(), remove: vi.fn() } };
    // Act
    const captured = tracer.captureAWSv3Client(client);
    // Assess: the client comes back untouched, so no call ever waits on an X-Ray daemon.
    expect(tracer.isTracingEnabled()).toBe(false);
    expect(captured).toBe(client);
    expect(client.middlewareStack.add).not.toHaveBeenCalled();
  });

  it('stays off outside Lambda (tests, npm start) without any setting', async () => {
    const tracer = await freshTracer({ AWS_EXECUTION_ENV: '', POWERTOOLS_TRACE_ENABLED: '' });
    expect(tracer.isTracingEnabled()).toBe(false);
  });
});
