import { describe, expect, it } from 'vitest';
import { CircuitBreakers } from '../../../lib/core/circuit-breaker';
import { servingEndpointSchema, type ServedEntity, type ServingEndpoint } from '../../../lib/core/endpoint-config';
import {
  AppError,
  BadGatewayError,
  GatewayTimeoutError,
  ModelInputError,
  ServiceUnavailableError,
} from '../../../lib/core/errors';
import { routePlan, routeRequest, type RouteDeps } from '../../../lib/core/route-request';

/** An endpoint as the config loader would produce it (defaults applied). */
function endpoint(overrides: Record<string, unknown> = {}): ServingEndpoint {
  return servingEndpointSchema.parse({
    name: 'chat',
    task: 'chat',
    timeoutMs: 1_000,
    routing: { retries: 1, backoffMs: 10, breakerFailures: 3, breakerCooldownMs: 5_000 },
    servedEntities: [
      { name: 'primary', backend: 'sagemaker', endpointName: 'llm', weight: 100, fallbacks: ['fallback'] },
      { name: 'fallback', backend: 'openai', model: 'gpt-x', baseUrl: 'http://127.0.0.1:9/v1', weight: 0 },
    ],
    ...overrides,
  });
}

/** Virtual time: sleeping advances it, nothing waits for real. */
function virtualDeps(breakers = new CircuitBreakers()): RouteDeps & { time: { now: number }; sleeps: number[] } {
  const time = { now: 0 };
  const sleeps: number[] = [];
  return {
    time,
    sleeps,
    breakers,
    now: () => time.now,
    random: () => 0.5,
    sleep: async (ms) => {
      sleeps.push(ms);
      time.now += ms;
    },
  };
}

const throttled = (): AppError => new ServiceUnavailableError('BACKEND_THROTTLED', 'busy');

describe('routeRequest', () => {
  it('splits 10,000 requests within 2 percentage points of the configured weights', () => {
    // Prepare
    const split = endpoint({
      servedEntities: [
        { name: 'a', backend: 'sagemaker', endpointName: 'a', weight: 70 },
        { name: 'b', backend: 'sagemaker', endpointName: 'b', weight: 20 },
        { name: 'c', backend: 'sagemaker', endpointName: 'c', weight: 10 },
        { name: 'spare', backend: 'sagemaker', endpointName: 'd', weight: 0 },
      ],
    });
    const counts = new Map<string, number>();
    // Act
    for (let i = 0; i < 10_000; i += 1) {
      const first = routePlan(split, `01890a5d-ac96-774b-b${String(i).padStart(3, '0')}-${i.toString(16).padStart(12, '0')}`)[0]!;
      counts.set(first.name, (counts.get(first.name) ?? 0) + 1);
    }
    // Assess
    expect(Math.abs((counts.get('a') ?? 0) / 100 - 70)).toBeLessThanOrEqual(2);
    expect(Math.abs((counts.get('b') ?? 0) / 100 - 20)).toBeLessThanOrEqual(2);
    expect(Math.abs((counts.get('c') ?? 0) / 100 - 10)).toBeLessThanOrEqual(2);
    expect(counts.get('spare')).toBeUndefined();
  });

  it('keeps a request on the same entity every time it is routed (sticky per request id)', () => {
    const split = endpoint({
      servedEntities: [
        { name: 'a', backend: 'sagemaker', endpointName: 'a', weight: 50 },
        { name: 'b', backend: 'sagemaker', endpointName: 'b', weight: 50 },
      ],
    });
    const firsts = new Set(Array.from({ length: 20 }, () => routePlan(split, 'req-42')[0]!.name));
    expect(firsts.size).toBe(1);
  });

  it('retries a throttled entity with jittered, growing backoff, then falls back', async () => {
    // Prepare
    const deps = virtualDeps();
    const calls: string[] = [];
    // Act
    const result = await routeRequest(
      endpoint(),
      'r1',
      1_000,
      async (entity: ServedEntity) => {
        calls.push(entity.name);
        if (entity.name === 'primary') throw throttled();
        return 'from fallback';
      },
      deps,
    );
    // Assess
    expect(result).toMatchObject({ ok: true, value: 'from fallback', entity: { name: 'fallback' } });
    expect(calls).toEqual(['primary', 'primary', 'fallback']);
    expect(deps.sleeps).toEqual([5]);
    expect(result.attempts.map((attempt) => attempt.outcome)).toEqual(['BACKEND_THROTTLED', 'BACKEND_THROTTLED', 'ok']);
  });

  it.each([
    ['a 5xx', () => new BadGatewayError('MODEL_ERROR', 'boom')],
    ['a connection failure', () => new ServiceUnavailableError('BACKEND_UNAVAILABLE', 'refused')],
  ])('falls back after %s', async (_name, failure) => {
    const result = await routeRequest(
      endpoint(),
      'r1',
      1_000,
      async (entity) => {
        if (entity.name === 'primary') throw failure();
        return 'ok';
      },
      virtualDeps(),
    );
    expect(result).toMatchObject({ ok: true, entity: { name: 'fallback' } });
  });

  it.each([
    ['a timeout (the entity is slow now)', () => new GatewayTimeoutError('slow')],
    ['its provider\'s refusal of our call (key, quota, configuration)', () => new BadGatewayError('BACKEND_REFUSED', "The provider behind primary refused modelgate's credentials (status 401)")],
    ['throttling that asks to be left alone past the deadline (retry-after)', () => new ServiceUnavailableError('BACKEND_THROTTLED', 'busy', { headers: { 'retry-after': '20' } })],
  ])('falls back at once, without retrying the entity, after %s', async (_name, failure) => {
    const calls: string[] = [];
    const result = await routeRequest(
      endpoint({ routing: { retries: 2, breakerFailures: 3, breakerCooldownMs: 5_000 } }),
      'r1',
      1_000,
      async (entity) => {
        calls.push(entity.name);
        if (entity.name === 'primary') throw failure();
        return 'from fallback';
      },
      virtualDeps(),
    );
    expect(calls).toEqual(['primary', 'fallback']);
    expect(result).toMatchObject({ ok: true, value: 'from fallback', entity: { name: 'fallback' } });
  });

  it('never retries or falls back on the model\'s own 4xx', async () => {
    // Prepare
    const calls: string[] = [];
    // Act
    const result = await routeRequest(
      endpoint(),
      'r1',
      1_000,
      async (entity) => {
        calls.push(entity.name);
        throw new ModelInputError('The model rejected the input');
      },
      virtualDeps(),
    );
    // Assess
    expect(calls).toEqual(['primary']);
    expect(result).toMatchObject({ ok: false, error: { statusCode: 400, code: 'MODEL_REJECTED_INPUT' } });
  });

  it('cuts each attempt at the entity\'s own timeout and starts nothing past the deadline', async () => {
    // Prepare
    const deps = virtualDeps();
    const budgets: number[] = [];
    const slowEverywhere = endpoint({
      timeoutMs: 300,
      servedEntities: [
        { name: 'primary', backend: 'sagemaker', endpointName: 'llm', timeoutMs: 200, fallbacks: ['fallback'] },
        { name: 'fallback', backend: 'openai', model: 'gpt-x', baseUrl: 'http://127.0.0.1:9/v1', weight: 0 },
      ],
    });
    // Act: every attempt uses up its whole budget, as a black-holed backend would.
    const result = await routeRequest(
      slowEverywhere,
      'r1',
      300,
      async (_entity, signal) => {
        const budget = await new Promise<number>((resolve) => {
          const started = performance.now();
          signal.addEventListener('abort', () => resolve(performance.now() - started), { once: true });
        });
        budgets.push(budget);
        deps.time.now += budget;
        throw new GatewayTimeoutError('no answer');
      },
      deps,
    );
    // Assess
    expect(result).toMatchObject({ ok: false, error: { statusCode: 504 } });
    expect(budgets).toHaveLength(2);
    expect(budgets[0]).toBeGreaterThanOrEqual(195);
    expect(budgets[0]).toBeLessThan(290);
    // The fallback only had what was left of the 300 ms deadline.
    expect(budgets[1]).toBeLessThan(150);
    expect(deps.time.now).toBeLessThan(300 + 50);
  });

  it('does not sleep past the deadline to retry', async () => {
    const deps = virtualDeps();
    const lone = endpoint({
      timeoutMs: 50,
      routing: { retries: 3, backoffMs: 1_000 },
      servedEntities: [{ name: 'only', backend: 'sagemaker', endpointName: 'llm' }],
    });
    const result = await routeRequest(lone, 'r1', 50, async () => Promise.reject(throttled()), deps);
    expect(result).toMatchObject({ ok: false, error: { code: 'BACKEND_THROTTLED' } });
    expect(deps.sleeps).toEqual([]);
  });
});

describe('circuit breaker in routing', () => {
  it('neither retries nor falls back on a malformed answer, and leaves the circuit closed', async () => {
    // Prepare: answers the gateway cannot read (a prediction of NaN), from a model that is up.
    const breakers = new CircuitBreakers();
    const deps = virtualDeps(breakers);
    const calls: string[] = [];
    const route = (id: string) =>
      routeRequest(
        endpoint({ routing: { retries: 1, breakerFailures: 3, breakerCooldownMs: 5_000 } }),
        id,
        deps.time.now + 1_000,
        async (entity) => {
          calls.push(entity.name);
          throw new BadGatewayError('BAD_BACKEND_RESPONSE', 'The model answered with something that is not JSON');
        },
        deps,
      );
    // Act
    const results = [];
    for (let i = 0; i < 4; i += 1) results.push(await route(`bad-${i}`));
    // Assess: one call per request, each a 502, and the entity still serves everyone else.
    expect(calls).toEqual(['primary', 'primary', 'primary', 'primary']);
    expect(results.every((result) => !result.ok && result.error.code === 'BAD_BACKEND_RESPONSE')).toBe(true);
    expect(breakers.for('chat', 'primary', { failures: 3, cooldownMs: 5_000 }).state(deps.time.now)).toBe('closed');
  });

  it('opens after consecutive failures, skips the entity, probes once after the cooldown and closes on success', async () => {
    // Prepare
    const breakers = new CircuitBreakers();
    const deps = virtualDeps(breakers);
    const noRetries = endpoint({ routing: { retries: 0, breakerFailures: 3, breakerCooldownMs: 5_000 } });
    let primaryHealthy = false;
    const primaryCalls: number[] = [];
    const route = (id: string) =>
      routeRequest(
        noRetries,
        id,
        deps.time.now + 1_000,
        async (entity) => {
          if (entity.name === 'primary') {
            primaryCalls.push(deps.time.now);
            if (!primaryHealthy) throw new BadGatewayError('MODEL_ERROR', 'down');
          }
          return entity.name;
        },
        deps,
      );
    // Act: three failures open the circuit.
    for (let i = 0; i < 3; i += 1) await route(`fail-${i}`);
    const whileOpen = await route('while-open');
    deps.time.now += 5_000;
    primaryHealthy = true;
    const probe = await route('probe');
    const afterClose = await route('after-close');
    // Assess
    expect(primaryCalls).toHaveLength(3 + 0 + 1 + 1);
    expect(whileOpen).toMatchObject({ ok: true, entity: { name: 'fallback' } });
    expect(whileOpen.attempts[0]).toMatchObject({ entity: 'primary', outcome: 'CIRCUIT_OPEN' });
    expect(probe).toMatchObject({ ok: true, entity: { name: 'primary' } });
    expect(afterClose).toMatchObject({ ok: true, entity: { name: 'primary' } });
    expect(breakers.for('chat', 'primary', { failures: 3, cooldownMs: 5_000 }).state(deps.time.now)).toBe('closed');
  });

  it('re-opens when the probe fails, and answers 503 with retry-after when every entity is open', async () => {
    // Prepare
    const breakers = new CircuitBreakers();
    const deps = virtualDeps(breakers);
    const lone = endpoint({
      routing: { retries: 0, breakerFailures: 1, breakerCooldownMs: 2_000 },
      servedEntities: [{ name: 'only', backend: 'sagemaker', endpointName: 'llm' }],
    });
    let calls = 0;
    const route = () =>
      routeRequest(lone, 'r', deps.time.now + 1_000, async () => {
        calls += 1;
        throw new BadGatewayError('MODEL_ERROR', 'down');
      }, deps);
    // Act
    await route();
    const open = await route();
    deps.time.now += 2_000;
    await route();
    const reopened = await route();
    // Assess
    expect(calls).toBe(2);
    expect(open).toMatchObject({ ok: false, error: { statusCode: 503, code: 'BACKEND_UNAVAILABLE', headers: { 'retry-after': '2' } } });
    expect(reopened.attempts).toEqual([{ entity: 'only', outcome: 'CIRCUIT_OPEN', latencyMs: 0 }]);
  });

  it('lets only one probe through while half-open', () => {
    const breakers = new CircuitBreakers();
    const breaker = breakers.for('e', 'x', { failures: 1, cooldownMs: 100 });
    breaker.recordFailure('call', 0);
    expect(breaker.tryAcquire(50)).toBeUndefined();
    expect(breaker.tryAcquire(100)).toBe('probe');
    expect(breaker.tryAcquire(101)).toBeUndefined();
    breaker.recordSuccess('probe');
    expect(breaker.tryAcquire(102)).toBe('call');
  });

  it("leaves a half-open circuit to its probe when calls sent before it opened report late", () => {
    // Prepare: two calls go out while the circuit is closed; the first failure opens it.
    const breaker = new CircuitBreakers().for('e', 'x', { failures: 1, cooldownMs: 100 });
    const early = breaker.tryAcquire(0)!;
    const late = breaker.tryAcquire(0)!;
    const other = breaker.tryAcquire(0)!;
    const slow = breaker.tryAcquire(0)!;
    breaker.recordFailure(early, 10);
    const probe = breaker.tryAcquire(110);
    // Act: while the probe is out, the older calls answer: a 4xx, a failure, a success.
    breaker.recordNeutral(late);
    const secondProbe = breaker.tryAcquire(111);
    breaker.recordFailure(other, 112);
    const stateAfterLateFailure = breaker.state(113);
    breaker.recordSuccess(slow);
    // Assess: one probe only, the cooldown not restarted, the circuit not closed.
    expect(probe).toBe('probe');
    expect(secondProbe).toBeUndefined();
    expect(stateAfterLateFailure).toBe('half-open');
    expect(breaker.state(114)).toBe('half-open');
    expect(breaker.tryAcquire(114)).toBeUndefined();
    // The probe's own failure opens the circuit for another cooldown.
    breaker.recordFailure('probe', 120);
    expect(breaker.state(219)).toBe('open');
    expect(breaker.tryAcquire(220)).toBe('probe');
  });
});
