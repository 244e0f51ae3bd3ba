import { beforeEach, describe, expect, it } from 'vitest';
import type { Principal } from '../../../lib/core/api-key';
import { servingEndpointSchema, type ServingEndpoint } from '../../../lib/core/endpoint-config';
import { InvalidRequestError, RateLimitedError, ServiceUnavailableError } from '../../../lib/core/errors';
import { createRequestLimiter, type RequestLimiter } from '../../../lib/core/limits/request-limiter';
import type { ModelInput } from '../../../lib/core/model-call';
import { parseMoney } from '../../../lib/core/money';
import { pricingSchema } from '../../../lib/core/price-table';
import { MemoryQuotaCounters, MemoryTenantBudgets } from '../../fakes/fake-governance';

const now = new Date('2026-11-21T10:15:20Z');
const principal: Principal = { keyId: 'key_0001', tenant: 'acme', roles: ['invoke'], endpoints: ['*'] };

function endpoint(overrides: Record<string, unknown> = {}): ServingEndpoint {
  return servingEndpointSchema.parse({
    name: 'assistant',
    task: 'chat',
    servedEntities: [
      { name: 'cheap', backend: 'sagemaker', endpointName: 'cheap' },
      { name: 'dear', backend: 'sagemaker', endpointName: 'dear', weight: 0 },
    ],
    ...overrides,
  });
}

const pricing = pricingSchema.parse({
  endpoints: {
    assistant: { perMillionInputTokens: 1000, perMillionOutputTokens: 2000, servedEntities: { dear: { perMillionInputTokens: 3000, perMillionOutputTokens: 4000 } } },
    iris: { perRequest: 0.01 },
  },
});

function chat(maxTokens?: number): ModelInput {
  // 40 bytes of prompt: an estimate of 10 tokens.
  return { task: 'chat', request: { model: 'assistant', messages: [{ role: 'user', content: 'x'.repeat(40) }], ...(maxTokens === undefined ? {} : { max_tokens: maxTokens }) } };
}

describe('the limit step', () => {
  let counters: MemoryQuotaCounters;
  let budgets: MemoryTenantBudgets;
  let limiter: RequestLimiter;

  beforeEach(() => {
    counters = new MemoryQuotaCounters();
    budgets = new MemoryTenantBudgets();
    limiter = createRequestLimiter({ counters, budgets, pricing });
  });

  it('reserves nothing and touches no shared state when no limit applies', async () => {
    const admission = await limiter.admit({ principal, endpoint: endpoint(), input: chat(), now });
    expect(admission).toBeUndefined();
    expect(counters.reserves).toBe(0);
  });

  it('refuses the request past a key\'s requests per minute with 429, the limit named and retry-after to the window\'s end', async () => {
    // Prepare
    const limited = { ...principal, limits: { requestsPerMinute: 2 } };
    await limiter.admit({ principal: limited, endpoint: endpoint(), input: chat(), now });
    await limiter.admit({ principal: limited, endpoint: endpoint(), input: chat(), now });
    // Act
    const refused = await limiter.admit({ principal: limited, endpoint: endpoint(), input: chat(), now }).catch((error: unknown) => error);
    // Assess
    expect(refused).toBeInstanceOf(RateLimitedError);
    const error = refused as RateLimitedError;
    expect(error.statusCode).toBe(429);
    expect(error.code).toBe('RATE_LIMITED');
    expect(error.headers).toEqual({ 'retry-after': '40', 'x-modelgate-limit': 'key.requests_per_minute' });
    expect(error.message).toContain('API key key_0001 may send 2 requests per minute');
  });

  it('counts a new minute from zero', async () => {
    const limited = { ...principal, limits: { requestsPerMinute: 1 } };
    await limiter.admit({ principal: limited, endpoint: endpoint(), input: chat(), now });
    await expect(limiter.admit({ principal: limited, endpoint: endpoint(), input: chat(), now: new Date('2026-11-21T10:16:00Z') })).resolves.toBeDefined();
  });

  it('holds the endpoint\'s limit over all keys and the per-key share of it', async () => {
    const limitedEndpoint = endpoint({ limits: { requestsPerMinute: 3, perKey: { requestsPerMinute: 2 } } });
    await limiter.admit({ principal, endpoint: limitedEndpoint, input: chat(), now });
    await limiter.admit({ principal, endpoint: limitedEndpoint, input: chat(), now });
    await expect(limiter.admit({ principal, endpoint: limitedEndpoint, input: chat(), now })).rejects.toMatchObject({ limit: 'key_endpoint.requests_per_minute' });
    const other = { ...principal, keyId: 'key_0002' };
    await limiter.admit({ principal: other, endpoint: limitedEndpoint, input: chat(), now });
    await expect(limiter.admit({ principal: other, endpoint: limitedEndpoint, input: chat(), now })).rejects.toMatchObject({ limit: 'endpoint.requests_per_minute' });
  });

  it('reserves prompt plus max_tokens on the token limit, all or nothing with the request limit', async () => {
    // Prepare: 10 prompt tokens + 40 max_tokens = 50 reserved per request.
    const limited = { ...principal, limits: { requestsPerMinute: 10, tokensPerMinute: 120 } };
    await limiter.admit({ principal: limited, endpoint: endpoint(), input: chat(40), now });
    await limiter.admit({ principal: limited, endpoint: endpoint(), input: chat(40), now });
    // Act
    const refused = await limiter.admit({ principal: limited, endpoint: endpoint(), input: chat(40), now }).catch((error: unknown) => error);
    // Assess: refused on tokens, and its request was not counted either.
    expect(refused).toMatchObject({ limit: 'key.tokens_per_minute' });
    expect(counters.valueOf('#tokens#')).toBe(100);
    expect(counters.valueOf('#requests#')).toBe(2);
  });

  it('reserves the larger of max_tokens and max_completion_tokens when a request sends both (a backend may honour either)', async () => {
    // Prepare: 10 prompt tokens; a tiny max_completion_tokens beside a large max_tokens.
    const limited = { ...principal, limits: { tokensPerMinute: 1000 } };
    const both: ModelInput = { task: 'chat', request: { model: 'assistant', messages: [{ role: 'user', content: 'x'.repeat(40) }], max_completion_tokens: 1, max_tokens: 200 } };
    // Act
    await limiter.admit({ principal: limited, endpoint: endpoint(), input: both, now });
    // Assess
    expect(counters.valueOf('#tokens#')).toBe(210);
  });

  it('refuses with 400 a request that could use more tokens than a whole minute allows, instead of letting one in every minute', async () => {
    // Prepare: 1,000 tokens a minute; 10 prompt tokens and max_tokens 100,000.
    const limited = { ...principal, limits: { tokensPerMinute: 1000 } };
    const huge: ModelInput = { task: 'chat', request: { model: 'assistant', messages: [{ role: 'user', content: 'x'.repeat(40) }], max_tokens: 100_000 } };
    // Act
    const refused = await limiter.admit({ principal: limited, endpoint: endpoint(), input: huge, now }).catch((error: unknown) => error);
    // Assess
    expect(refused).toMatchObject({ statusCode: 400, message: expect.stringContaining('max_tokens: 100000 with the prompt could use up to 100010 tokens, more than key.tokens_per_minute allows in a minute (1000); lower max_tokens') });
    expect(counters.values.size).toBe(0);
    // Without max_tokens the endpoint's reserve (1024) is held at most at the limit: served as before.
    const plain: ModelInput = { task: 'chat', request: { model: 'assistant', messages: [{ role: 'user', content: 'x'.repeat(40) }] } };
    await expect(limiter.admit({ principal: { ...principal, limits: { tokensPerMinute: 500 } }, endpoint: endpoint(), input: plain, now })).resolves.toBeDefined();
    expect(counters.valueOf('#tokens#')).toBe(500);
  });

  it('keeps a failed stream\'s relayed tokens on the token limit, and gives back a failure\'s whole hold', async () => {
    const limited = { ...principal, limits: { tokensPerMinute: 1000 } };
    const cut = (await limiter.admit({ principal: limited, endpoint: endpoint(), input: chat(40), now }))!;
    const failed = (await limiter.admit({ principal: limited, endpoint: endpoint(), input: chat(40), now }))!;
    // Act: a stream that ran past its time after 7 tokens reached the caller; a call that failed before any output.
    await limiter.settle(cut, { status: 504, units: { kind: 'tokens', input: 12, output: 7, estimated: true }, servedEntity: 'cheap' });
    await limiter.settle(failed, { status: 502, units: undefined, servedEntity: 'cheap' });
    // Assess
    expect(counters.valueOf('#tokens#')).toBe(19);
  });

  it('settles the token hold to the tokens really used', async () => {
    const limited = { ...principal, limits: { tokensPerMinute: 1000 } };
    const admission = (await limiter.admit({ principal: limited, endpoint: endpoint(), input: chat(40), now }))!;
    await limiter.settle(admission, { status: 200, units: { kind: 'tokens', input: 12, output: 7, estimated: false }, servedEntity: 'cheap' });
    expect(counters.valueOf('#tokens#')).toBe(19);
  });

  it('holds the costliest served entity\'s price on the budget, then settles to the real entity\'s cost', async () => {
    // Prepare: reserve = 10 × 3000e-6 + 40 × 4000e-6 = 0.19 (entity "dear").
    await budgets.setBudget({ tenant: 'acme', monthlyBudgetNanos: parseMoney('1'), currency: 'USD', updatedAt: now.toISOString() });
    // Act
    const admission = (await limiter.admit({ principal, endpoint: endpoint(), input: chat(40), now }))!;
    const held = counters.valueOf('tenant#acme#cost#2026-11');
    await limiter.settle(admission, { status: 200, units: { kind: 'tokens', input: 10, output: 5, estimated: false }, servedEntity: 'cheap' });
    // Assess: 10 × 1000e-6 + 5 × 2000e-6 = 0.02
    expect(held).toBe(parseMoney('0.19'));
    expect(counters.valueOf('tenant#acme#cost#2026-11')).toBe(parseMoney('0.02'));
  });

  it('refuses with 429 BUDGET_EXHAUSTED and retry-after to the month\'s end once the budget cannot hold a request', async () => {
    await budgets.setBudget({ tenant: 'acme', monthlyBudgetNanos: parseMoney('0.30'), currency: 'USD', updatedAt: now.toISOString() });
    await limiter.admit({ principal, endpoint: endpoint(), input: chat(40), now });
    const refused = (await limiter.admit({ principal, endpoint: endpoint(), input: chat(40), now }).catch((error: unknown) => error)) as RateLimitedError;
    expect(refused).toBeInstanceOf(RateLimitedError);
    expect(refused.code).toBe('BUDGET_EXHAUSTED');
    expect(refused.headers['x-modelgate-limit']).toBe('tenant.budget_monthly');
    // 2026-12-01T00:00:00Z is 9 days, 13 h, 44 min, 40 s away.
    expect(refused.headers['retry-after']).toBe(String(9 * 86_400 + 13 * 3_600 + 44 * 60 + 40));
  });

  it('never lets concurrent requests commit more than the budget', async () => {
    await budgets.setBudget({ tenant: 'acme', monthlyBudgetNanos: parseMoney('1'), currency: 'USD', updatedAt: now.toISOString() });
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => limiter.admit({ principal, endpoint: endpoint(), input: chat(40), now })));
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(5);
    expect(counters.valueOf('tenant#acme#cost#2026-11')).toBeLessThanOrEqual(parseMoney('1'));
  });

  it('releases the whole hold of a request that was refused or failed: it costs nothing', async () => {
    await budgets.setBudget({ tenant: 'acme', monthlyBudgetNanos: parseMoney('1'), currency: 'USD', updatedAt: now.toISOString() });
    const admission = (await limiter.admit({ principal, endpoint: endpoint(), input: chat(40), now }))!;
    await limiter.settle(admission, { status: 502, units: undefined, servedEntity: 'cheap' });
    expect(counters.valueOf('tenant#acme#cost#2026-11')).toBe(0);
  });

  it('answers 400 for a single request that could cost more than the whole budget', async () => {
    await budgets.setBudget({ tenant: 'acme', monthlyBudgetNanos: parseMoney('0.10'), currency: 'USD', updatedAt: now.toISOString() });
    await expect(limiter.admit({ principal, endpoint: endpoint(), input: chat(1000), now })).rejects.toBeInstanceOf(InvalidRequestError);
  });

  it('fails closed with 503 LIMITS_UNAVAILABLE, naming the fix, for a budget set in another currency than the prices', async () => {
    // Prepare: the price table is in USD (its default); the budget was set when it was in EUR.
    await budgets.setBudget({ tenant: 'acme', monthlyBudgetNanos: parseMoney('1'), currency: 'EUR', updatedAt: now.toISOString() });
    // Act
    const error = await limiter.admit({ principal, endpoint: endpoint(), input: chat(40), now }).catch((thrown: unknown) => thrown);
    // Assess: nothing held, and the cause says what to do.
    expect(error).toMatchObject({ code: 'LIMITS_UNAVAILABLE', statusCode: 503 });
    expect(String((error as Error).cause)).toContain('budget is in EUR, prices are in USD: set the budget again');
    expect(counters.reserves).toBe(0);
  });

  it('fails closed with 503 LIMITS_UNAVAILABLE when the shared counters cannot be reached', async () => {
    counters.failWith = new Error('ECONNREFUSED');
    const error = await limiter.admit({ principal: { ...principal, limits: { requestsPerMinute: 5 } }, endpoint: endpoint(), input: chat(), now }).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(ServiceUnavailableError);
    expect(error).toMatchObject({ code: 'LIMITS_UNAVAILABLE', headers: { 'retry-after': '1' } });
  });
});
