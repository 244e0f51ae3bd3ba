/** The shape of one series of measurements, in the unit they were recorded in. */
export interface Distribution {
  count: number;
  mean: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentile (`q` in 0–100) of values already sorted ascending; NaN when empty. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((q / 100) * sorted.length)));
  return sorted[rank - 1] ?? Number.NaN;
}

/** Count, mean, p50/p90/p99 and max of a series (any order). */
export function summarize(values: readonly number[]): Distribution {
  const sorted = [...values].sort((a, b) => a - b);
  const sum = sorted.reduce((total, value) => total + value, 0);
  return {
    count: sorted.length,
    mean: sorted.length === 0 ? Number.NaN : sum / sorted.length,
    min: sorted[0] ?? Number.NaN,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? Number.NaN,
  };
}

/** A figure taken once per repeat (or round): its true median (the mean of the middle two for an even count) and range. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  values: number[];
}

export function spread(values: readonly number[]): Spread {
  const sorted = [...values].filter((value) => Number.isFinite(value)).sort((a, b) => a - b);
  if (sorted.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, values: [] };
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
  return { median, min: sorted[0] as number, max: sorted.at(-1) as number, values: [...values] };
}

/** A measure of one variant ÷ the same of its baseline, taken within each round: median and range over rounds. */
export interface RoundRatio {
  median: number;
  min: number;
  max: number;
}

/**
 * The ratios of `[variant, baseline]` pairs measured in the same round, as a true median (with an
 * even number of rounds, the mean of the middle two: a nearest-rank p50 would report the lower
 * one) and the range.
 */
export function roundRatio(pairs: ReadonlyArray<readonly [variant: number, baseline: number]>): RoundRatio {
  const { median, min, max } = spread(pairs.map(([variant, baseline]) => variant / baseline));
  return { median, min, max };
}

/** `1.02 (0.95–1.08)`, as the reports print a round ratio. */
export function formatRoundRatio(ratio: RoundRatio): string {
  return `${ratio.median.toFixed(2)} (${ratio.min.toFixed(2)}–${ratio.max.toFixed(2)})`;
}
