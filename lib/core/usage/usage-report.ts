import type { Nanos } from '../money';
import { percentileMs } from './latency-histogram';
import { addIncrements, emptyIncrements, type UsageIncrements } from './usage-contribution';

/** One hourly aggregate as the usage table holds it. */
export interface UsageRow extends UsageIncrements {
  tenant: string;
  hour: string;
  endpoint: string;
  servedEntity: string;
}

/**
 * One line of a tenant's monthly invoice: an endpoint and served entity over the month, its
 * counts summed over the hours and its latency histogram read as percentiles.
 */
export interface InvoiceLine extends Omit<UsageIncrements, 'latency'> {
  tenant: string;
  month: string;
  endpoint: string;
  servedEntity: string;
  /** Approximate (see latency-histogram.ts): within 10% above the true value. */
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
  latencyP99Ms: number | null;
}

export interface UsageReport {
  month: string;
  currency: string;
  lines: InvoiceLine[];
  /** Per tenant: its requests and what it owes. */
  totals: Array<{ tenant: string; requests: number; errors: number; costNanos: Nanos }>;
}

/** Folds a month's hourly rows into invoice lines (tenant × endpoint × served entity), sorted. */
export function buildUsageReport(month: string, currency: string, rows: readonly UsageRow[]): UsageReport {
  const byLine = new Map<string, { tenant: string; endpoint: string; servedEntity: string; sum: UsageIncrements }>();
  for (const row of rows) {
    const id = `${row.tenant}\u0000${row.endpoint}\u0000${row.servedEntity}`;
    const line = byLine.get(id) ?? { tenant: row.tenant, endpoint: row.endpoint, servedEntity: row.servedEntity, sum: emptyIncrements(row.unit) };
    addIncrements(line.sum, { ...row, latency: { ...row.latency } });
    byLine.set(id, line);
  }
  const round = (value: number | undefined) => (value === undefined ? null : Math.round(value * 10) / 10);
  const lines: InvoiceLine[] = [...byLine.values()]
    .map(({ tenant, endpoint, servedEntity, sum: { latency, ...counts } }) => ({
      tenant,
      month,
      endpoint,
      servedEntity,
      ...counts,
      latencyP50Ms: round(percentileMs(latency, 0.5)),
      latencyP95Ms: round(percentileMs(latency, 0.95)),
      latencyP99Ms: round(percentileMs(latency, 0.99)),
    }))
    .sort((a, b) => a.tenant.localeCompare(b.tenant) || a.endpoint.localeCompare(b.endpoint) || a.servedEntity.localeCompare(b.servedEntity));
  const totals = new Map<string, { tenant: string; requests: number; errors: number; costNanos: Nanos }>();
  for (const line of lines) {
    const total = totals.get(line.tenant) ?? { tenant: line.tenant, requests: 0, errors: 0, costNanos: 0 };
    total.requests += line.requests;
    total.errors += line.errors;
    total.costNanos += line.costNanos;
    totals.set(line.tenant, total);
  }
  return { month, currency, lines, totals: [...totals.values()] };
}
