import { isBillable } from '../limits/request-limiter';
import type { Nanos } from '../money';
import { costOf, priceFor, type Pricing } from '../price-table';
import type { UsageEvent } from '../usage-event';
import { latencyBucket, mergeHistograms, type LatencyHistogram } from './latency-histogram';

/** Where a request's usage is added up: tenant × endpoint × served entity × hour (UTC). */
export interface UsageAggregateKey {
  tenant: string;
  /** `YYYY-MM`: bills are monthly. */
  month: string;
  /** `YYYY-MM-DDTHH`. */
  hour: string;
  endpoint: string;
  servedEntity: string;
}

/** What requests add to their aggregate. */
export interface UsageIncrements {
  unit: 'tokens' | 'rows';
  requests: number;
  /** Answered 4xx or 5xx (refusals included). */
  errors: number;
  /** Billed requests (answered, or streams cut short by the caller after output). */
  billable: number;
  inputUnits: number;
  outputUnits: number;
  /** Billed requests whose token counts are modelgate's estimate (the backend gave none). */
  estimated: number;
  costNanos: Nanos;
  latency: LatencyHistogram;
}

export interface UsageContribution {
  key: UsageAggregateKey;
  increments: UsageIncrements;
}

/** Served entity and endpoint names callers cannot inflate: what is not configured is counted as this. */
export const UNKNOWN = '(unknown)';
export const NONE = '(none)';

/**
 * What one usage event adds to the bill. Requests with no tenant (unknown or missing keys) are
 * billed to nobody: undefined. Units and cost count only for billable requests; the cost depends
 * on the units and the served entity alone, so a streamed and a non-streamed call of the same work
 * cost the same.
 */
export function contributionOf(event: UsageEvent, pricing: Pricing, knownEndpoint: (name: string) => boolean): UsageContribution | undefined {
  if (event.tenant === null) return undefined;
  const units = event.units;
  const billable = isBillable(event.status, units);
  const endpoint = knownEndpoint(event.endpoint) ? event.endpoint : UNKNOWN;
  return {
    key: {
      tenant: event.tenant,
      month: event.time.slice(0, 7),
      hour: event.time.slice(0, 13),
      endpoint,
      servedEntity: event.servedEntity ?? NONE,
    },
    increments: {
      unit: units.kind,
      requests: 1,
      errors: event.status >= 400 ? 1 : 0,
      billable: billable ? 1 : 0,
      inputUnits: billable ? units.input : 0,
      outputUnits: billable && units.kind === 'tokens' ? units.output : 0,
      estimated: billable && units.kind === 'tokens' && units.estimated ? 1 : 0,
      costNanos: billable && endpoint !== UNKNOWN ? costOf(priceFor(pricing, endpoint, event.servedEntity), units) : 0,
      latency: { [latencyBucket(event.latencyMs)]: 1 },
    },
  };
}

export function aggregateKeyId(key: UsageAggregateKey): string {
  return `${key.tenant}\u0000${key.hour}\u0000${key.endpoint}\u0000${key.servedEntity}`;
}

export function addIncrements(into: UsageIncrements, from: UsageIncrements): UsageIncrements {
  into.requests += from.requests;
  into.errors += from.errors;
  into.billable += from.billable;
  into.inputUnits += from.inputUnits;
  into.outputUnits += from.outputUnits;
  into.estimated += from.estimated;
  into.costNanos += from.costNanos;
  mergeHistograms(into.latency, from.latency);
  // An aggregate mixing units would be a config change mid-hour; tokens are the more specific.
  if (from.unit === 'tokens') into.unit = 'tokens';
  return into;
}

export function emptyIncrements(unit: UsageIncrements['unit'] = 'rows'): UsageIncrements {
  return { unit, requests: 0, errors: 0, billable: 0, inputUnits: 0, outputUnits: 0, estimated: 0, costNanos: 0, latency: {} };
}
