import { detectAbuse, type AbuseDeps } from '../abuse/detect-abuse';
import type { AbuseFinding } from '../abuse/abuse-finding';
import type { Pricing } from '../price-table';
import type { UsageEvent } from '../usage-event';
import type { UsageLedger } from '../../ports/usage-ledger';
import { contributionOf } from './usage-contribution';

export interface UsageConsumerDeps {
  ledger: UsageLedger;
  pricing: Pricing;
  /** Whether an endpoint name is configured (others are billed as "(unknown)"). */
  knownEndpoint: (name: string) => boolean;
  abuse: AbuseDeps;
  /** Longer than the consumer can run (its timeout): a claim outliving a live consumer would let a second one in. */
  leaseMs: number;
  now: () => Date;
}

/** A usage event and the queue message it arrived in. */
export interface DeliveredUsageEvent {
  event: UsageEvent;
  messageId: string;
}

export interface UsageCount {
  applied: number;
  duplicates: number;
  /** Messages whose request id another consumer is counting right now: back to the queue, counted when they return. */
  busyMessageIds: string[];
  findings: AbuseFinding[];
}

/**
 * Counts a batch of usage events exactly once per request id: claimed in the ledger, added to
 * their hourly aggregate, run through the abuse rules, and committed. Events already counted are
 * skipped (replays do not change the bill); events another consumer is counting right now are
 * named, to go back to the queue. A failure of the ledger throws: the whole batch returns, and
 * what was done is recognised on the retry.
 */
export async function countUsageEvents(delivered: readonly DeliveredUsageEvent[], deps: UsageConsumerDeps): Promise<UsageCount> {
  const count: UsageCount = { applied: 0, duplicates: 0, busyMessageIds: [], findings: [] };
  if (delivered.length === 0) return count;

  // The same request id twice in one batch is counted once: the first message stands for both.
  const firstOf = new Map<string, DeliveredUsageEvent>();
  for (const entry of delivered) if (!firstOf.has(entry.event.requestId)) firstOf.set(entry.event.requestId, entry);
  const unique = [...firstOf.values()];
  count.duplicates += delivered.length - unique.length;

  const outcomes = await deps.ledger.claim(unique, deps.leaseMs, deps.now());
  const claimed = unique.filter((_, index) => outcomes[index] === 'claimed');
  unique.forEach((entry, index) => {
    if (outcomes[index] === 'duplicate') count.duplicates += 1;
    if (outcomes[index] === 'busy') count.busyMessageIds.push(entry.messageId);
  });
  if (claimed.length > 0) count.findings = await countClaimed(claimed, deps);
  count.applied = claimed.length;
  // Later copies in the same batch: now that the first is settled, the ledger notes them as duplicates.
  const extras = delivered.filter((entry) => firstOf.get(entry.event.requestId) !== entry);
  if (extras.length > 0) await deps.ledger.claim(extras, deps.leaseMs, deps.now());
  return count;
}

/** Adds claimed events to the bill, runs the abuse rules over them, and commits them. */
async function countClaimed(claimed: readonly DeliveredUsageEvent[], deps: UsageConsumerDeps): Promise<AbuseFinding[]> {
  const contributions = claimed.map(({ event: usage }) => ({ requestId: usage.requestId, contribution: contributionOf(usage, deps.pricing, deps.knownEndpoint) }));
  await deps.ledger.apply(contributions.filter((item): item is { requestId: string; contribution: NonNullable<typeof item.contribution> } => item.contribution !== undefined));
  // Before the commit: a crash here repeats the abuse counting on the retry (at least once), never the bill.
  const findings = await detectAbuse(
    claimed.map((entry) => entry.event),
    deps.abuse,
  );
  await deps.ledger.commit(contributions);
  return findings;
}
