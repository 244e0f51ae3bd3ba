import type { AbuseFinding } from '../core/abuse/abuse-finding';

export interface AbuseCounterIncrement {
  counter: string;
  amount: number;
  windowEndsAt: Date;
}

/** Abuse-rule counters and findings (the abuse table). */
export interface AbuseStore {
  /** Adds each increment atomically; resolves with each counter's new total. */
  count(increments: readonly AbuseCounterIncrement[]): Promise<Map<string, number>>;
  /** Current totals (0 for counters never counted). */
  totals(counters: readonly string[]): Promise<Map<string, number>>;
  /** Stores a finding unless one with its id exists; resolves with the stored one and whether it is new. */
  recordFinding(finding: AbuseFinding): Promise<{ created: boolean; stored: AbuseFinding }>;
  /** Records what was done about a finding. */
  setActionTaken(finding: AbuseFinding, actionTaken: NonNullable<AbuseFinding['actionTaken']>): Promise<void>;
  /** Findings whose window started in [from, to), oldest first. */
  listFindings(range: { from: Date; to: Date }): Promise<AbuseFinding[]>;
}
