/**
 * Latency percentiles from a histogram, so that hours can be merged into a month exactly. Bucket
 * `i` holds latencies in (1.1^(i-1), 1.1^i] ms (bucket 0: up to 1 ms); a percentile is reported as
 * its bucket's upper bound, so it is at most 10% above the true value and never below it, up to
 * the last bucket: 220 buckets reach past 14 days, as an async request's latency includes its
 * time queued (up to the 7 days a request is kept by default; a stage keeping requests longer
 * than about 15 days would see its longest latencies capped there).
 */
export type LatencyHistogram = Record<number, number>;

const GROWTH = 1.1;
const LOG_GROWTH = Math.log(GROWTH);
export const LATENCY_BUCKETS = 220;

export function latencyBucket(ms: number): number {
  if (!(ms > 1)) return 0;
  return Math.min(LATENCY_BUCKETS - 1, Math.ceil(Math.log(ms) / LOG_GROWTH - 1e-9));
}

export function bucketUpperBoundMs(bucket: number): number {
  return bucket === 0 ? 1 : GROWTH ** bucket;
}

export function mergeHistograms(into: LatencyHistogram, from: LatencyHistogram): LatencyHistogram {
  for (const [bucket, count] of Object.entries(from)) into[Number(bucket)] = (into[Number(bucket)] ?? 0) + count;
  return into;
}

/** The `q` quantile (0 < q ≤ 1) by nearest rank; undefined for an empty histogram. */
export function percentileMs(histogram: LatencyHistogram, q: number): number | undefined {
  const buckets = Object.entries(histogram)
    .map(([bucket, count]) => [Number(bucket), count] as const)
    .filter(([, count]) => count > 0)
    .sort((a, b) => a[0] - b[0]);
  const total = buckets.reduce((sum, [, count]) => sum + count, 0);
  if (total === 0) return undefined;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (const [bucket, count] of buckets) {
    seen += count;
    if (seen >= rank) return bucketUpperBoundMs(bucket);
  }
  return bucketUpperBoundMs(buckets[buckets.length - 1]![0]);
}
