/** One amount to add to a shared counter, refused if the counter would pass `max`. */
export interface QuotaCharge {
  /** The counter's identity, window included, e.g. `key#key_0123#requests#2026-11-21T10:15Z`. */
  counter: string;
  amount: number;
  max: number;
  /** When the counter's window closes; the store may forget the counter some time after. */
  windowEndsAt: Date;
}

/** An amount added to a counter unconditionally (settling a reservation to what was really used). */
export interface QuotaAdjustment {
  counter: string;
  delta: number;
  windowEndsAt: Date;
}

export type ReserveResult = { admitted: true } | { admitted: false; refused: QuotaCharge };

/**
 * Counters shared by every gateway instance (the RateLimiter/Quota port): a reservation either
 * adds all its charges or none, each atomically and only while its counter stays within its max,
 * so no number of concurrent instances can take a counter past its limit.
 */
export interface QuotaCounters {
  reserve(charges: readonly QuotaCharge[]): Promise<ReserveResult>;
  adjust(adjustments: readonly QuotaAdjustment[]): Promise<void>;
  /** Current values (0 for counters never charged). */
  read(counters: readonly string[]): Promise<Map<string, number>>;
}
