import type { UsageContribution } from '../core/usage/usage-contribution';
import type { UsageRow } from '../core/usage/usage-report';
import type { UsageEvent } from '../core/usage-event';

/** How claiming a request id went: this consumer now owns it, it was counted before, or another consumer is on it. */
export type ClaimOutcome = 'claimed' | 'duplicate' | 'busy';

/** What the ledger holds for a request id. */
export interface LedgerEntry {
  event: UsageEvent;
  state: 'pending' | 'applied';
  /** Messages with this request id other than the first: the same usage published again. */
  duplicatePublishes: number;
}

/**
 * The usage ledger and its hourly aggregates: what makes billing exactly-once on the request id,
 * without cross-item transactions. A request id is claimed (a lease on its ledger item), its
 * contribution is added to its aggregate under a guard naming the id (so a retry after a crash
 * cannot add it twice), and then committed (the ledger item marked applied, the guard removed).
 */
export interface UsageLedger {
  /** Claims each request id for `leaseMs` (longer than the consumer can run). */
  claim(entries: ReadonlyArray<{ event: UsageEvent; messageId: string }>, leaseMs: number, now: Date): Promise<ClaimOutcome[]>;
  /** Adds claimed contributions to their aggregates, each at most once. */
  apply(contributions: ReadonlyArray<{ requestId: string; contribution: UsageContribution }>): Promise<void>;
  /** Marks claimed ids applied and clears their guards; after this a replay is a duplicate. */
  commit(applied: ReadonlyArray<{ requestId: string; contribution: UsageContribution | undefined }>): Promise<void>;
  /** A tenant's hourly aggregates of a month (`YYYY-MM`). */
  monthRows(tenant: string, month: string): Promise<UsageRow[]>;
  /** Tenants with usage in a month. */
  tenantsOf(month: string): Promise<string[]>;
  find(requestId: string): Promise<LedgerEntry | undefined>;
}
