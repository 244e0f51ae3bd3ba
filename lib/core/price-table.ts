import { z } from 'zod';
import type { Nanos } from './money';
import type { UsageUnits } from './usage-event';

const price = z.number().min(0).max(1_000_000).finite();

/** What one served entity (or an endpoint's entities by default) costs, by what it consumes. */
export const priceSchema = z
  .object({
    /** Charged once per billable request, whatever it consumed. */
    perRequest: price.optional(),
    perMillionInputTokens: price.optional(),
    perMillionOutputTokens: price.optional(),
    /** Classic models bill by rows scored. */
    perThousandRows: price.optional(),
  })
  .strict();

const endpointPriceSchema = priceSchema
  .extend({
    /** Prices of particular served entities (e.g. a costlier fallback provider); the endpoint's otherwise. */
    servedEntities: z.record(z.string().min(1).max(63), priceSchema).default({}),
  })
  .strict();

/**
 * The price table (`pricing` in the endpoint config): what tenants are billed per endpoint and
 * served entity. An endpoint it does not list costs nothing (its usage is still counted).
 */
export const pricingSchema = z
  .object({
    /** ISO 4217 code; budgets and reports are in this currency. */
    currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 currency code such as USD').default('USD'),
    endpoints: z.record(z.string().min(1).max(63), endpointPriceSchema).default({}),
  })
  .strict();

export type Price = z.infer<typeof priceSchema>;
export type Pricing = z.infer<typeof pricingSchema>;

/** The price table of a config that declares none: everything free, in USD. */
export function defaultPricing(): Pricing {
  return pricingSchema.parse({});
}

/** The price that applies to a served entity of an endpoint. */
export function priceFor(pricing: Pricing, endpoint: string, servedEntity: string | null): Price {
  const endpointPrice = pricing.endpoints[endpoint];
  if (!endpointPrice) return {};
  const { servedEntities, ...base } = endpointPrice;
  return (servedEntity !== null ? servedEntities[servedEntity] : undefined) ?? base;
}

/**
 * Cost of one request in nanos, from what it consumed: the same units cost the same, streamed or
 * not. Each part is rounded to a whole nano, so a month's bill is an exact integer sum.
 */
export function costOf(price: Price, units: UsageUnits): Nanos {
  let nanos = Math.round((price.perRequest ?? 0) * 1e9);
  if (units.kind === 'tokens') {
    nanos += Math.round(units.input * (price.perMillionInputTokens ?? 0) * 1e3);
    nanos += Math.round(units.output * (price.perMillionOutputTokens ?? 0) * 1e3);
  } else {
    nanos += Math.round(units.input * (price.perThousandRows ?? 0) * 1e6);
  }
  return nanos;
}

/** The most any served entity of the endpoint would charge for these units (what a reservation holds). */
export function highestCostOf(pricing: Pricing, endpoint: string, servedEntities: readonly string[], units: UsageUnits): Nanos {
  return Math.max(costOf(priceFor(pricing, endpoint, null), units), ...servedEntities.map((entity) => costOf(priceFor(pricing, endpoint, entity), units)));
}

/** A price for an endpoint or served entity that does not exist is a typo that would bill nothing: refused at load. */
export function checkPricedNamesExist(
  config: { endpoints: ReadonlyArray<{ name: string; servedEntities: ReadonlyArray<{ name: string }> }>; pricing: Pricing },
  context: z.RefinementCtx,
): void {
  const endpoints = new Map(config.endpoints.map((endpoint) => [endpoint.name, new Set(endpoint.servedEntities.map((entity) => entity.name))]));
  for (const [name, price] of Object.entries(config.pricing.endpoints)) {
    const entities = endpoints.get(name);
    if (!entities) {
      context.addIssue({ code: 'custom', path: ['pricing', 'endpoints', name], message: `no serving endpoint named ${name}` });
      continue;
    }
    for (const entity of Object.keys(price.servedEntities)) {
      if (!entities.has(entity)) {
        context.addIssue({ code: 'custom', path: ['pricing', 'endpoints', name, 'servedEntities', entity], message: `endpoint ${name} has no served entity named ${entity}` });
      }
    }
  }
}
