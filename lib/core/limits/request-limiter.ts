import type { Principal } from '../api-key';
import type { ServingEndpoint } from '../endpoint-config';
import { InvalidRequestError, RateLimitedError, ServiceUnavailableError } from '../errors';
import { formatMoney, type Nanos } from '../money';
import { chatOutputCap } from '../openai-api';
import type { ModelInput } from '../model-call';
import { costOf, highestCostOf, priceFor, type Pricing } from '../price-table';
import { chatPromptText, completionPromptText, embeddingsInputTokens, estimateTokens } from '../token-usage';
import type { UsageUnits } from '../usage-event';
import type { QuotaAdjustment, QuotaCharge, QuotaCounters } from '../../ports/quota-counters';
import type { TenantBudgets } from '../../ports/tenant-budgets';
import { minuteWindow, monthWindow, tenantCostCounter, type LimitWindow } from './limit-windows';

/** Which limit a charge counts against; the name a 429 reports in `x-modelgate-limit`. */
export type LimitName =
  | 'key.requests_per_minute'
  | 'key.tokens_per_minute'
  | 'endpoint.requests_per_minute'
  | 'endpoint.tokens_per_minute'
  | 'key_endpoint.requests_per_minute'
  | 'key_endpoint.tokens_per_minute'
  | 'tenant.budget_monthly';

interface LimitCharge extends QuotaCharge {
  limit: LimitName;
  measure: 'requests' | 'tokens' | 'cost';
}

/** What a request was admitted with: the charges to settle once its real usage is known. */
export interface Admission {
  charges: LimitCharge[];
  endpoint: string;
  /** Tokens held on the token limits (input estimate plus `max_tokens` or the endpoint's reserve). */
  reservedTokens: number;
  /** Nanos held on the tenant's budget: the costliest served entity's price for the reserved units. */
  reservedCostNanos: Nanos;
}

/** How the request ended, for settling its reservation. */
export interface AdmissionOutcome {
  status: number;
  units: UsageUnits | undefined;
  servedEntity: string | null;
}

/** The limit step of the request pipeline. */
export interface RequestLimiter {
  /**
   * Reserves the request's share of every limit that applies (key, endpoint, key on endpoint,
   * tenant budget), all or none. Undefined when no limit applies (nothing was reserved).
   * @throws RateLimitedError (429, `retry-after`, the limit named) when one is reached;
   *   ServiceUnavailableError (503 LIMITS_UNAVAILABLE) when the shared counters cannot be reached.
   */
  admit(request: { principal: Principal; endpoint: ServingEndpoint; input: ModelInput; now: Date }): Promise<Admission | undefined>;
  /**
   * Replaces the reservation by what the request really used (nothing, for a request not billed);
   * given `settledBefore`, replaces what that earlier settle left instead (an answer withheld after
   * it was settled as served).
   */
  settle(admission: Admission, outcome: AdmissionOutcome, settledBefore?: AdmissionOutcome): Promise<void>;
}

export interface RequestLimiterDeps {
  counters: QuotaCounters;
  budgets: TenantBudgets;
  pricing: Pricing;
}

/**
 * Whether a request is billed: answered (2xx), a stream the caller cut short (499), or a stream
 * that failed after the model's tokens reached the caller (it ran past its time, the model broke
 * off): what was generated and relayed is paid for. Refusals and other failures are free (a
 * request that failed before any output carries no output tokens).
 */
export function isBillable(status: number, units: UsageUnits | undefined): boolean {
  if ((status >= 200 && status < 400) || status === 499) return true;
  return status >= 500 && units?.kind === 'tokens' && units.output > 0;
}

export function createRequestLimiter(deps: RequestLimiterDeps): RequestLimiter {
  return {
    async admit({ principal, endpoint, input, now }) {
      const budget = await readBudget(deps.budgets, principal.tenant);
      const minute = minuteWindow(now);
      const estimate = estimateUnits(endpoint, input);
      const reservedTokens = estimate.kind === 'tokens' ? estimate.input + estimate.output : 0;
      const askedOutput = outputAskedFor(input);
      const charges: LimitCharge[] = [];
      const perMinute = (
        scope: 'key' | 'endpoint' | 'key_endpoint',
        subject: string,
        limits: { requestsPerMinute?: number | undefined; tokensPerMinute?: number | undefined } | undefined,
      ): void => {
        if (limits?.requestsPerMinute !== undefined) {
          charges.push(charge(`${scope}.requests_per_minute`, 'requests', `${subject}#requests#${minute.label}`, 1, limits.requestsPerMinute, minute));
        }
        if (limits?.tokensPerMinute !== undefined && reservedTokens > 0) {
          // A request whose own max_tokens asks for more than a whole minute's tokens never fits:
          // refused, as a budget refuses one that could cost more than the month's (held at the
          // limit and let in each minute, such requests used the limit many times over). Without
          // max_tokens (the endpoint's reserve) or by its prompt's estimate alone, a request is held
          // at most at the limit and settles to its real count, so it fits an empty window.
          if (askedOutput !== undefined && reservedTokens > limits.tokensPerMinute) {
            throw new InvalidRequestError(
              `max_tokens: ${askedOutput} with the prompt could use up to ${reservedTokens} tokens, more than ${scope}.tokens_per_minute allows in a minute (${limits.tokensPerMinute}); lower max_tokens`,
            );
          }
          const held = Math.min(reservedTokens, limits.tokensPerMinute);
          charges.push(charge(`${scope}.tokens_per_minute`, 'tokens', `${subject}#tokens#${minute.label}`, held, limits.tokensPerMinute, minute));
        }
      };
      perMinute('key', `key#${principal.keyId}`, principal.limits);
      perMinute('endpoint', `endpoint#${endpoint.name}`, endpoint.limits);
      perMinute('key_endpoint', `key#${principal.keyId}#endpoint#${endpoint.name}`, endpoint.limits.perKey);

      let reservedCostNanos = 0;
      if (budget !== undefined) {
        // Costs are counted in the price table's currency: a budget set in another (the table's
        // currency changed since `budgets set`) cannot cap them, and is not read as if it could.
        if (budget.currency !== deps.pricing.currency) {
          throw limitsUnavailable(
            new Error(`Tenant ${principal.tenant}'s budget is in ${budget.currency}, prices are in ${deps.pricing.currency}: set the budget again (modelgate budgets set)`),
          );
        }
        const month = monthWindow(now);
        reservedCostNanos = highestCostOf(deps.pricing, endpoint.name, endpoint.servedEntities.map((entity) => entity.name), estimate);
        if (reservedCostNanos > budget.monthlyBudgetNanos) {
          throw new InvalidRequestError(
            `This request could cost up to ${formatMoney(reservedCostNanos)} ${budget.currency}, more than tenant ${principal.tenant}'s whole monthly budget; lower max_tokens`,
          );
        }
        charges.push(charge('tenant.budget_monthly', 'cost', tenantCostCounter(principal.tenant, month.label), reservedCostNanos, budget.monthlyBudgetNanos, month));
      }
      if (charges.length === 0) return undefined;

      let result;
      try {
        result = await deps.counters.reserve(charges);
      } catch (cause) {
        throw limitsUnavailable(cause);
      }
      if (!result.admitted) throw refusal(result.refused as LimitCharge, now, principal, endpoint);
      return { charges, endpoint: endpoint.name, reservedTokens, reservedCostNanos };
    },

    async settle(admission, outcome, settledBefore) {
      const used = usedBy(admission, outcome);
      const before = settledBefore === undefined ? undefined : usedBy(admission, settledBefore);
      const adjustments: QuotaAdjustment[] = [];
      for (const held of admission.charges) {
        // A request counts against its request limits whether or not it succeeded: it was let through.
        if (held.measure === 'requests') continue;
        const usedNow = held.measure === 'tokens' ? used.tokens : used.cost;
        const counted = before === undefined ? held.amount : held.measure === 'tokens' ? before.tokens : before.cost;
        if (usedNow !== counted) adjustments.push({ counter: held.counter, delta: usedNow - counted, windowEndsAt: held.windowEndsAt });
      }
      if (adjustments.length > 0) await deps.counters.adjust(adjustments);
    },
  };

  /** What a request that ended so counts on the token limits and the budget. */
  function usedBy(admission: Admission, outcome: AdmissionOutcome): { tokens: number; cost: Nanos } {
    const units = outcome.units;
    const billable = isBillable(outcome.status, units);
    return {
      tokens: billable && units?.kind === 'tokens' ? units.input + units.output : 0,
      cost: billable && units ? costOf(priceFor(deps.pricing, admission.endpoint, outcome.servedEntity), units) : 0,
    };
  }
}

function charge(limit: LimitName, measure: LimitCharge['measure'], counter: string, amount: number, max: number, window: LimitWindow): LimitCharge {
  return { limit, measure, counter, amount, max, windowEndsAt: window.endsAt };
}

async function readBudget(budgets: TenantBudgets, tenant: string) {
  try {
    return await budgets.budgetOf(tenant);
  } catch (cause) {
    throw limitsUnavailable(cause);
  }
}

function limitsUnavailable(cause: unknown): ServiceUnavailableError {
  return new ServiceUnavailableError('LIMITS_UNAVAILABLE', 'Rate limits could not be checked; the request was not served', {
    cause,
    headers: { 'retry-after': '1' },
  });
}

const DESCRIPTIONS: Record<LimitName, (principal: Principal, endpoint: ServingEndpoint, max: number) => string> = {
  'key.requests_per_minute': (p, _e, max) => `API key ${p.keyId} may send ${max} requests per minute`,
  'key.tokens_per_minute': (p, _e, max) => `API key ${p.keyId} may use ${max} tokens per minute`,
  'endpoint.requests_per_minute': (_p, e, max) => `endpoint ${e.name} serves ${max} requests per minute in all`,
  'endpoint.tokens_per_minute': (_p, e, max) => `endpoint ${e.name} serves ${max} tokens per minute in all`,
  'key_endpoint.requests_per_minute': (p, e, max) => `API key ${p.keyId} may send ${max} requests per minute to endpoint ${e.name}`,
  'key_endpoint.tokens_per_minute': (p, e, max) => `API key ${p.keyId} may use ${max} tokens per minute on endpoint ${e.name}`,
  'tenant.budget_monthly': (p) => `tenant ${p.tenant}'s monthly budget is spent`,
};

function refusal(refused: LimitCharge, now: Date, principal: Principal, endpoint: ServingEndpoint): RateLimitedError {
  const retryAfter = (refused.windowEndsAt.getTime() - now.getTime()) / 1000;
  const what = DESCRIPTIONS[refused.limit](principal, endpoint, refused.max);
  return new RateLimitedError(refused.limit, retryAfter, `Rate limit reached: ${what} (${refused.limit}); retry after ${Math.max(1, Math.ceil(retryAfter))} s`);
}

/** The output cap the caller set itself (`max_tokens`, `max_completion_tokens`), if any. */
function outputAskedFor(input: ModelInput): number | undefined {
  if (input.task === 'chat') return chatOutputCap(input.request);
  if (input.task === 'completions') return input.request.max_tokens ?? undefined;
  return undefined;
}

/** What the request is reserved for before the call: its prompt's tokens and the most it may generate. */
export function estimateUnits(endpoint: ServingEndpoint, input: ModelInput): UsageUnits {
  switch (input.task) {
    case 'custom':
      return { kind: 'rows', input: input.rows };
    case 'chat':
      return {
        kind: 'tokens',
        input: estimateTokens(chatPromptText(input.request)),
        output: outputAskedFor(input) ?? endpoint.limits.reservedOutputTokens,
        estimated: true,
      };
    case 'completions':
      return {
        kind: 'tokens',
        input: estimateTokens(completionPromptText(input.request)),
        output: outputAskedFor(input) ?? endpoint.limits.reservedOutputTokens,
        estimated: true,
      };
    case 'embeddings': {
      const { tokens, estimated } = embeddingsInputTokens(input.request);
      return { kind: 'tokens', input: tokens, output: 0, estimated };
    }
  }
}
