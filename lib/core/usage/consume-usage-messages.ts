import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { detectAbuse, type AbuseDeps } from '../abuse/detect-abuse';
import type { AbuseFinding } from '../abuse/abuse-finding';
import { describeIssues } from '../describe-issues';
import type { Pricing } from '../price-table';
import { usageEventSchema, type UsageEvent } from '../usage-event';
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

export interface UsageBatchSummary {
  received: number;
  applied: number;
  duplicates: number;
  /** Claimed by another consumer right now: returned to the queue, counted when it comes back. */
  busy: number;
  invalid: number;
  findings: AbuseFinding[];
}

/** Thrown for a message that is not a usage event: reported failed, retried, then dead-lettered. */
export class InvalidUsageMessageError extends Error {
  override name = 'InvalidUsageMessageError';
}

/**
 * One usage-consumer invocation. Each message is parsed on its own (Powertools' partial batch
 * response: a malformed one fails alone). The valid events are then counted exactly once per
 * request id: claimed in the ledger, added to their hourly aggregate, run through the abuse
 * rules, and committed. Events already counted are skipped (replays do not change the bill);
 * events another consumer is counting right now go back to the queue. A failure of the ledger
 * throws: the whole batch returns, and what was done is recognised on the retry.
 */
export async function consumeUsageMessages(event: SQSEvent, deps: UsageConsumerDeps): Promise<{ response: SQSBatchResponse; summary: UsageBatchSummary }> {
  // A processor per invocation: it holds the batch's state, and invocations may run side by side in one process.
  const processor = new BatchProcessor(EventType.SQS);
  const valid: Array<{ event: UsageEvent; messageId: string }> = [];
  const response = await processPartialResponse(
    event,
    async (message: SQSRecord) => {
      let json: unknown;
      try {
        json = JSON.parse(message.body);
      } catch {
        throw new InvalidUsageMessageError(`message ${message.messageId} is not JSON`);
      }
      const parsed = usageEventSchema.safeParse(json);
      if (!parsed.success) throw new InvalidUsageMessageError(`message ${message.messageId} is not a usage event: ${describeIssues(parsed.error.issues)}`);
      valid.push({ event: parsed.data, messageId: message.messageId });
    },
    processor,
    { throwOnFullBatchFailure: false },
  );
  const summary: UsageBatchSummary = { received: event.Records.length, applied: 0, duplicates: 0, busy: 0, invalid: response.batchItemFailures.length, findings: [] };
  if (valid.length === 0) return { response, summary };

  // The same request id twice in one batch is counted once: the first message stands for both.
  const firstOf = new Map<string, { event: UsageEvent; messageId: string }>();
  for (const entry of valid) if (!firstOf.has(entry.event.requestId)) firstOf.set(entry.event.requestId, entry);
  const unique = [...firstOf.values()];
  summary.duplicates += valid.length - unique.length;

  const outcomes = await deps.ledger.claim(unique, deps.leaseMs, deps.now());
  const claimed = unique.filter((_, index) => outcomes[index] === 'claimed');
  unique.forEach((entry, index) => {
    if (outcomes[index] === 'duplicate') summary.duplicates += 1;
    if (outcomes[index] === 'busy') {
      summary.busy += 1;
      response.batchItemFailures.push({ itemIdentifier: entry.messageId });
    }
  });
  if (claimed.length > 0) summary.findings = await countClaimed(claimed, deps);
  summary.applied = claimed.length;
  // Later copies in the same batch: now that the first is settled, the ledger notes them as duplicates.
  const extras = valid.filter((entry) => firstOf.get(entry.event.requestId) !== entry);
  if (extras.length > 0) await deps.ledger.claim(extras, deps.leaseMs, deps.now());
  return { response, summary };
}

/** Adds claimed events to the bill, runs the abuse rules over them, and commits them. */
async function countClaimed(claimed: ReadonlyArray<{ event: UsageEvent }>, deps: UsageConsumerDeps): Promise<AbuseFinding[]> {
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
