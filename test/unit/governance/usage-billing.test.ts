import { describe, expect, it } from 'vitest';
import { formatMoney, parseMoney } from '../../../lib/core/money';
import { costOf, pricingSchema, priceFor } from '../../../lib/core/price-table';
import { bucketUpperBoundMs, latencyBucket, percentileMs } from '../../../lib/core/usage/latency-histogram';
import { addIncrements, contributionOf, emptyIncrements } from '../../../lib/core/usage/usage-contribution';
import { buildUsageReport, type UsageRow } from '../../../lib/core/usage/usage-report';
import type { UsageEvent } from '../../../lib/core/usage-event';
import { parseEndpointConfig } from '../../../lib/core/endpoint-registry';

const pricing = pricingSchema.parse({
  endpoints: {
    assistant: { perMillionInputTokens: 0.15, perMillionOutputTokens: 0.6, servedEntities: { claude: { perMillionInputTokens: 3, perMillionOutputTokens: 15 } } },
    iris: { perRequest: 0.001, perThousandRows: 0.5 },
  },
});

function event(overrides: Partial<UsageEvent>): UsageEvent {
  return {
    version: 1,
    requestId: 'r',
    time: '2026-11-21T10:15:10.000Z',
    tenant: 'acme',
    keyId: 'key_1',
    endpoint: 'assistant',
    servedEntity: 'llama',
    status: 200,
    units: { kind: 'tokens', input: 1000, output: 500, estimated: false },
    requestBytes: 1,
    responseBytes: 1,
    latencyMs: 120,
    backendLatencyMs: 100,
    ...overrides,
  };
}

describe('money', () => {
  it('parses amounts from their digits, exactly, and formats them back', () => {
    expect(parseMoney('0.1') * 3).toBe(parseMoney('0.3'));
    expect(parseMoney('19.99')).toBe(19_990_000_000);
    expect(formatMoney(19_990_000_000, 2)).toBe('19.99');
    expect(formatMoney(1_234_567_891, 6)).toBe('1.234568');
    expect(() => parseMoney('-5')).toThrow(RangeError);
  });

  it('refuses an amount a double cannot count exactly in nanos, rather than round it', () => {
    expect(parseMoney('9007199.254740991')).toBe(Number.MAX_SAFE_INTEGER);
    expect(() => parseMoney('9007199.254740992')).toThrow(/more than the largest amount counted exactly, 9007199\.254740991/);
    expect(() => parseMoney('9999999')).toThrow(RangeError);
  });
});

describe('the price table', () => {
  it('prices tokens per million and rows per thousand, in whole nanos', () => {
    expect(costOf(priceFor(pricing, 'assistant', 'llama'), { kind: 'tokens', input: 1000, output: 500, estimated: false })).toBe(150_000 + 300_000);
    expect(costOf(priceFor(pricing, 'assistant', 'claude'), { kind: 'tokens', input: 1000, output: 500, estimated: false })).toBe(3_000_000 + 7_500_000);
    expect(costOf(priceFor(pricing, 'iris', 'iris-v1'), { kind: 'rows', input: 4 })).toBe(1_000_000 + 2_000_000);
    expect(costOf(priceFor(pricing, 'unpriced', null), { kind: 'rows', input: 4 })).toBe(0);
  });

  it('refuses a price for an endpoint or served entity the config does not have', () => {
    const config = {
      version: 1,
      endpoints: [{ name: 'iris', servedEntities: [{ name: 'iris-v1', backend: 'sagemaker', endpointName: 'iris' }] }],
      pricing: { endpoints: { irs: { perRequest: 1 }, iris: { servedEntities: { 'iris-v2': { perRequest: 1 } } } } },
    };
    expect(() => parseEndpointConfig(config)).toThrow(/pricing\.endpoints\.irs: no serving endpoint named irs/);
  });
});

describe('what a usage event adds to the bill', () => {
  const known = (name: string) => name === 'assistant' || name === 'iris';

  it('bills a streamed and a non-streamed call of the same work the same', () => {
    // The event carries units, not whether the answer streamed: the same units give the same cost.
    const streamed = contributionOf(event({ requestId: 'a', latencyMs: 900 }), pricing, known)!;
    const whole = contributionOf(event({ requestId: 'b' }), pricing, known)!;
    expect(streamed.increments.costNanos).toBe(whole.increments.costNanos);
  });

  it('counts refusals and failures as requests and errors, at no cost', () => {
    const refused = contributionOf(event({ status: 429 }), pricing, known)!;
    expect(refused.increments).toMatchObject({ requests: 1, errors: 1, billable: 0, inputUnits: 0, costNanos: 0 });
  });

  it('bills a stream the caller cut short for what it produced', () => {
    expect(contributionOf(event({ status: 499 }), pricing, known)!.increments).toMatchObject({ errors: 1, billable: 1, costNanos: 450_000 });
  });

  it('bills a stream that failed after tokens reached the caller for them, and a failure before any output for nothing', () => {
    // A stream past its time limit (504) or broken off by the model (502) after relaying 500 tokens.
    expect(contributionOf(event({ status: 504 }), pricing, known)!.increments).toMatchObject({ errors: 1, billable: 1, costNanos: 450_000 });
    expect(contributionOf(event({ status: 502 }), pricing, known)!.increments).toMatchObject({ billable: 1, costNanos: 450_000 });
    const noOutput = { kind: 'tokens', input: 1000, output: 0, estimated: false } as const;
    expect(contributionOf(event({ status: 504, units: noOutput }), pricing, known)!.increments).toMatchObject({ errors: 1, billable: 0, costNanos: 0 });
  });

  it('bills nobody for requests without a tenant, and files unknown endpoint names under one line', () => {
    expect(contributionOf(event({ tenant: null, status: 401 }), pricing, known)).toBeUndefined();
    expect(contributionOf(event({ endpoint: 'made-up-by-a-caller', status: 404 }), pricing, known)!.key.endpoint).toBe('(unknown)');
  });
});

describe('latency percentiles', () => {
  it('reports the upper bound of the bucket holding the rank: never below, at most 10% above', () => {
    // Up to an async request queued for the 7 days a request is kept.
    for (const ms of [0.3, 1, 1.05, 7, 120, 2_500, 899_000, 3_600_000, 7 * 86_400_000]) {
      const reported = bucketUpperBoundMs(latencyBucket(ms));
      expect(reported).toBeGreaterThanOrEqual(ms);
      expect(reported).toBeLessThanOrEqual(Math.max(1, ms * 1.1 + 1e-9));
    }
  });

  it('takes percentiles by nearest rank over merged hours', () => {
    const histogram: Record<number, number> = {};
    for (let ms = 1; ms <= 100; ms += 1) histogram[latencyBucket(ms)] = (histogram[latencyBucket(ms)] ?? 0) + 1;
    expect(percentileMs(histogram, 0.5)).toBeGreaterThanOrEqual(50);
    expect(percentileMs(histogram, 0.5)).toBeLessThanOrEqual(55);
    expect(percentileMs(histogram, 0.99)).toBeGreaterThanOrEqual(99);
    expect(percentileMs({}, 0.5)).toBeUndefined();
  });
});

describe('the monthly report', () => {
  it('folds hourly rows into one line per tenant, endpoint and served entity, with totals that add up', () => {
    const row = (hour: string, entity: string, requests: number, cost: number): UsageRow => ({
      ...addIncrements(emptyIncrements('tokens'), { ...emptyIncrements('tokens'), requests, billable: requests, costNanos: cost, latency: { 50: requests } }),
      tenant: 'acme',
      hour,
      endpoint: 'assistant',
      servedEntity: entity,
    });
    const report = buildUsageReport('2026-11', 'USD', [row('2026-11-01T00', 'llama', 3, 300), row('2026-11-02T05', 'llama', 2, 200), row('2026-11-02T05', 'claude', 1, 1000)]);
    expect(report.lines.map((line) => [line.servedEntity, line.requests, line.costNanos])).toEqual([
      ['claude', 1, 1000],
      ['llama', 5, 500],
    ]);
    expect(report.totals).toEqual([{ tenant: 'acme', requests: 6, errors: 0, costNanos: 1500 }]);
  });
});
