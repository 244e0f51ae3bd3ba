import { beforeEach, describe, expect, it } from 'vitest';
import { apiKeyRecordFor } from '../../../lib/core/api-key';
import { visibleStatus } from '../../../lib/core/async/async-request';
import { runAsyncMessage } from '../../../lib/core/async/run-async-message';
import { serveAsyncSubmission } from '../../../lib/core/async/serve-async-submission';
import { createRequestLimiter } from '../../../lib/core/limits/request-limiter';
import { parseMoney } from '../../../lib/core/money';
import { pricingSchema } from '../../../lib/core/price-table';
import type { QuotaAdjustment } from '../../../lib/ports/quota-counters';
import { chatAnswering, FakeKeyStore } from '../../fakes/fake-ports';
import { MemoryQuotaCounters, MemoryTenantBudgets } from '../../fakes/fake-governance';
import { asyncWorld, delivery, IRIS, keyRecords, redelivery, submissionOf } from './async-fixtures';

const LIMITED_KEY = `mgk_${'e'.repeat(43)}`;
/** A key with a token limit too, so a delivery holds tokens as well as budget. */
const TOKEN_LIMITED_KEY = `mgk_${'f'.repeat(43)}`;
const pricing = pricingSchema.parse({ endpoints: { assistant: { perMillionInputTokens: 1000, perMillionOutputTokens: 1000 } } });
const CHAT = { model: 'assistant', messages: [{ role: 'user', content: 'hello there' }], max_tokens: 50 };

describe('the async worker applies the synchronous path\'s limits and budgets', () => {
  let world: ReturnType<typeof asyncWorld>;
  let counters: MemoryQuotaCounters;
  let budgets: MemoryTenantBudgets;

  beforeEach(() => {
    world = asyncWorld();
    counters = new MemoryQuotaCounters();
    budgets = new MemoryTenantBudgets();
    const keys = new FakeKeyStore([
      ...keyRecords(),
      apiKeyRecordFor(LIMITED_KEY, { tenant: 'acme', roles: ['invoke'], endpoints: ['*'], now: new Date('2026-11-21T10:00:00Z'), limits: { requestsPerMinute: 1 } }),
      apiKeyRecordFor(TOKEN_LIMITED_KEY, { tenant: 'acme', roles: ['invoke'], endpoints: ['*'], now: new Date('2026-11-21T10:00:00Z'), limits: { requestsPerMinute: 10, tokensPerMinute: 10_000 } }),
    ]);
    world.submission.keys = keys;
    world.worker.keys = keys;
    world.worker.limits = createRequestLimiter({ counters, budgets, pricing });
    world.backend.chatWith = chatAnswering();
  });

  async function submitted(body: unknown, endpointName: string, key = LIMITED_KEY) {
    const outcome = await serveAsyncSubmission(submissionOf(world, body, { endpointName, authorization: `Bearer ${key}` }), world.submission);
    expect(outcome.statusCode).toBe(202);
    return { requestId: outcome.requestId, message: delivery(world.queue.sent.at(-1)!.text) };
  }

  it('puts a request over a per-minute limit back on the queue until its window ends, then runs it', async () => {
    // Prepare: the key may send one request per minute; the clock stands at 10:15:30.
    const first = await submitted(IRIS, 'iris');
    const second = await submitted(IRIS, 'iris');
    // Act
    const ran = await runAsyncMessage(first.message, world.worker);
    const limited = await runAsyncMessage(second.message, world.worker);
    // Assess: the second waits for the next minute (30 s), without calling the model.
    expect(ran).toMatchObject({ kind: 'finished', status: 'succeeded' });
    expect(limited).toMatchObject({ kind: 'retry', requestId: second.requestId, delaySeconds: 30 });
    expect(world.queue.delays.map((delay) => delay.seconds)).toEqual([30]);
    expect(world.backend.requests).toHaveLength(1);
    expect(world.jobs.requests.get(second.requestId)).toMatchObject({ status: 'queued', lease: null, lastError: { code: 'RATE_LIMITED' } });
    expect(world.audit.records).toHaveLength(1);

    // Act: delivered again in the next minute.
    world.clock.advance(30_000);
    const later = await runAsyncMessage(redelivery(second.message), world.worker);
    // Assess
    expect(later).toMatchObject({ kind: 'finished', requestId: second.requestId, status: 'succeeded' });
    expect(world.backend.requests).toHaveLength(2);
    expect(visibleStatus(world.jobs.requests.get(second.requestId)!)).toBe('succeeded');
  });

  it('fails a request still over its limit on its last delivery with a 429 naming the limit, audited, without calling the model', async () => {
    // Prepare
    const first = await submitted(IRIS, 'iris');
    const second = await submitted(IRIS, 'iris');
    await runAsyncMessage(first.message, world.worker);
    // Act
    const disposition = await runAsyncMessage({ ...second.message, receiveCount: 5 }, world.worker);
    // Assess
    expect(disposition).toEqual({ kind: 'finished', requestId: second.requestId, status: 'failed', statusCode: 429, errorCode: 'RATE_LIMITED' });
    expect(world.backend.requests).toHaveLength(1);
    const stored = world.jobs.requests.get(second.requestId)!;
    expect(stored.outcome).toMatchObject({ statusCode: 429, error: { code: 'RATE_LIMITED', message: expect.stringContaining('key.requests_per_minute') } });
    expect(world.audit.records.at(-1)).toMatchObject({ requestId: second.requestId, status: 429 });
  });

  it('fails a request of a tenant whose budget is spent at once, without calling the model', async () => {
    // Prepare: a budget of $1, all of it spent this month.
    await budgets.setBudget({ tenant: 'acme', monthlyBudgetNanos: parseMoney('1'), currency: 'USD', updatedAt: '2026-11-01T00:00:00Z' });
    const { requestId, message } = await submitted(CHAT, 'assistant');
    counters.values.set('tenant#acme#cost#2026-11', parseMoney('1'));
    // Act
    const disposition = await runAsyncMessage(message, world.worker);
    // Assess
    expect(disposition).toEqual({ kind: 'finished', requestId, status: 'failed', statusCode: 429, errorCode: 'BUDGET_EXHAUSTED' });
    expect(world.queue.delays).toEqual([]);
    expect(world.backend.requests).toHaveLength(0);
  });

  it('settles the budget hold to what the call used, as a synchronous call of the same work', async () => {
    // Prepare
    await budgets.setBudget({ tenant: 'acme', monthlyBudgetNanos: parseMoney('10'), currency: 'USD', updatedAt: '2026-11-01T00:00:00Z' });
    const { message } = await submitted(CHAT, 'assistant');
    const adjusted: QuotaAdjustment[] = [];
    const adjust = counters.adjust.bind(counters);
    counters.adjust = async (adjustments) => {
      adjusted.push(...adjustments);
      return adjust(adjustments);
    };
    // Act
    const disposition = await runAsyncMessage(message, world.worker);
    // Assess: 8 + 2 tokens at 1000 per million each: $0.01, not the hold for 50 output tokens.
    expect(disposition).toMatchObject({ kind: 'finished', status: 'succeeded' });
    expect(adjusted).toHaveLength(1);
    expect(counters.valueOf('tenant#acme#cost')).toBe(parseMoney('0.01'));
  });

  it('releases the token and budget hold of a delivery that failed transiently (the request limit stays counted)', async () => {
    // Prepare
    await budgets.setBudget({ tenant: 'acme', monthlyBudgetNanos: parseMoney('10'), currency: 'USD', updatedAt: '2026-11-01T00:00:00Z' });
    const { message } = await submitted(CHAT, 'assistant', TOKEN_LIMITED_KEY);
    world.backend.chatWith = async () => {
      throw new (await import('../../../lib/core/errors')).ServiceUnavailableError('BACKEND_UNAVAILABLE', 'down');
    };
    const held: number[] = [];
    const reserve = counters.reserve.bind(counters);
    counters.reserve = async (charges) => {
      held.push(...charges.filter((charge) => charge.counter.includes('#tokens#')).map((charge) => charge.amount));
      return reserve(charges);
    };
    // Act
    const disposition = await runAsyncMessage(message, world.worker);
    // Assess: tokens were held for the call, and are released with the budget.
    expect(disposition).toMatchObject({ kind: 'retry' });
    expect(held.length).toBeGreaterThan(0);
    expect(counters.valueOf('#tokens#')).toBe(0);
    expect(counters.valueOf('tenant#acme#cost')).toBe(0);
    expect(counters.valueOf('#requests#')).toBe(1);
  });

  it('reports a settlement that failed with the disposition, and still finishes the request', async () => {
    // Prepare
    await budgets.setBudget({ tenant: 'acme', monthlyBudgetNanos: parseMoney('10'), currency: 'USD', updatedAt: '2026-11-01T00:00:00Z' });
    const { requestId, message } = await submitted(CHAT, 'assistant');
    counters.adjust = async () => {
      throw new Error('limits table unreachable');
    };
    // Act
    const disposition = await runAsyncMessage(message, world.worker);
    // Assess
    expect(disposition).toMatchObject({ kind: 'finished', requestId, status: 'succeeded', limitsSettleError: expect.objectContaining({ message: 'limits table unreachable' }) });
  });
});
