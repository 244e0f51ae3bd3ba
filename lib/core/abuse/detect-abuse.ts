import type { KeyAdminStore } from '../../ports/key-store';
import type { AbuseCounterIncrement, AbuseStore } from '../../ports/abuse-store';
import { shortenStatusReason } from '../api-key';
import { minutesWindow, type LimitWindow } from '../limits/limit-windows';
import type { UsageEvent } from '../usage-event';
import type { AbuseFinding, AbuseSubject } from './abuse-finding';
import type { AbusePolicy, AbuseRuleName } from './abuse-policy';

export interface AbuseDeps {
  store: AbuseStore;
  keys: Pick<KeyAdminStore, 'changeStatus'>;
  policy: AbusePolicy;
  now: () => Date;
}

interface Tally {
  rule: AbuseRuleName;
  subject: AbuseSubject;
  window: LimitWindow;
  counter: string;
  amount: number;
  tenant: string | null;
  keyId: string | null;
  samples: string[];
}

const MINUTE_MS = 60_000;

/** The subject a request is counted against: its key when it had one, else its client IP. */
function subjectOf(event: UsageEvent, preferIp = false): AbuseSubject | undefined {
  if (!preferIp && event.keyId) return { kind: 'key', id: event.keyId };
  if (event.clientIp) return { kind: 'client-ip', id: event.clientIp };
  return event.keyId ? { kind: 'key', id: event.keyId } : undefined;
}

/** Which rules a request counts for, and against whom. */
function rulesHit(event: UsageEvent): Array<{ rule: AbuseRuleName; subject: AbuseSubject }> {
  const hits: Array<{ rule: AbuseRuleName; subject: AbuseSubject | undefined }> = [];
  // 401s carry no key id (the key is unknown): key guessing is seen per client IP.
  if (event.status === 401) hits.push({ rule: 'authFailures', subject: subjectOf(event, true) });
  if (event.status === 403) hits.push({ rule: 'authFailures', subject: subjectOf(event) });
  if (event.status === 400 || event.status === 413) hits.push({ rule: 'badRequests', subject: subjectOf(event) });
  if ((event.contentFlags?.length ?? 0) > 0) hits.push({ rule: 'contentFlags', subject: subjectOf(event) ?? producersOf(event) });
  if (event.keyId) hits.push({ rule: 'rateSpike', subject: { kind: 'key', id: event.keyId } });
  return hits.filter((hit): hit is { rule: AbuseRuleName; subject: AbuseSubject } => hit.subject !== undefined);
}

/**
 * A queue producer's message (a tenant but neither key nor address) counts against the tenant's
 * producers, for what it asked only: its message names its tenant itself, so only a request the
 * tenant's producer grant let through counts (a refused one may name any tenant).
 */
function producersOf(event: UsageEvent): AbuseSubject | undefined {
  return event.status < 400 && event.tenant ? { kind: 'producer', id: event.tenant } : undefined;
}

export function abuseCounterName(rule: AbuseRuleName, subject: AbuseSubject, window: LimitWindow): string {
  return `${rule}#${subject.kind}#${subject.id}#${window.label}`;
}

const DETAILS: Record<AbuseRuleName, (observed: number, minutes: number, subject: AbuseSubject) => string> = {
  rateSpike: (n, m, s) => `${s.kind} ${s.id} sent ${n} requests in ${m} min, a spike against its own baseline`,
  authFailures: (n, m, s) =>
    s.kind === 'client-ip' ? `${n} requests with unknown API keys from ${s.id} in ${m} min (key guessing)` : `${n} refused requests (403) with API key ${s.id} in ${m} min (probing what it is not granted)`,
  badRequests: (n, m, s) => `${n} malformed or oversized requests (400/413) from ${s.kind} ${s.id} in ${m} min`,
  contentFlags: (n, m, s) =>
    s.kind === 'producer' ? `${n} queued requests matching guardrail patterns from tenant ${s.id}'s queue producers in ${m} min` : `${n} requests matching guardrail patterns from ${s.kind} ${s.id} in ${m} min`,
};

/**
 * Runs the abuse rules over a batch of usage events (each seen once: the consumer passes only
 * events it has not counted before). Each rule counts per subject in fixed windows, in the shared
 * abuse table, so the whole fleet's traffic is seen; a rule fires when a window's count reaches its
 * threshold, at most one finding per subject and window (the finding id is the window). Where the
 * rule says `suspend` and the subject is a key, the key is suspended; the gateway refuses it
 * within its key cache TTL. Resolves with the findings this batch created.
 */
export async function detectAbuse(events: readonly UsageEvent[], deps: AbuseDeps): Promise<AbuseFinding[]> {
  const tallies = new Map<string, Tally>();
  for (const event of events) {
    for (const { rule, subject } of rulesHit(event)) {
      const settings = deps.policy[rule];
      if (!settings.enabled) continue;
      const window = minutesWindow(new Date(event.time), settings.windowMinutes);
      const counter = abuseCounterName(rule, subject, window);
      const tally = tallies.get(counter) ?? { rule, subject, window, counter, amount: 0, tenant: event.tenant, keyId: event.keyId, samples: [] };
      tally.amount += 1;
      if (tally.samples.length < 10) tally.samples.push(event.requestId);
      tallies.set(counter, tally);
    }
  }
  if (tallies.size === 0) return [];
  const increments: AbuseCounterIncrement[] = [...tallies.values()].map((tally) => ({ counter: tally.counter, amount: tally.amount, windowEndsAt: tally.window.endsAt }));
  const totals = await deps.store.count(increments);

  const candidates: AbuseFinding[] = [];
  const spikes: Array<{ tally: Tally; total: number }> = [];
  for (const tally of tallies.values()) {
    const total = totals.get(tally.counter) ?? tally.amount;
    if (tally.rule === 'rateSpike') {
      if (total >= deps.policy.rateSpike.minRequests) spikes.push({ tally, total });
      continue;
    }
    const threshold = deps.policy[tally.rule].threshold;
    if (total >= threshold) candidates.push(findingOf(tally, total, threshold, undefined, deps));
  }
  candidates.push(...(await spikeFindings(spikes, deps)));

  const created: AbuseFinding[] = [];
  for (const candidate of candidates) {
    const { created: isNew, stored } = await deps.store.recordFinding(candidate);
    if (isNew) created.push(stored);
    // An action not yet taken (a crash after recording it) is taken on the retry.
    if (stored.actionTaken === undefined) {
      const actionTaken = await act(stored, deps);
      stored.actionTaken = actionTaken;
      await deps.store.setActionTaken(stored, actionTaken);
    }
  }
  return created;
}

async function spikeFindings(spikes: ReadonlyArray<{ tally: Tally; total: number }>, deps: AbuseDeps): Promise<AbuseFinding[]> {
  const policy = deps.policy.rateSpike;
  if (spikes.length === 0) return [];
  const windowMs = policy.windowMinutes * MINUTE_MS;
  const earlier = new Map<string, string[]>();
  for (const { tally } of spikes) {
    const counters: string[] = [];
    for (let back = 1; back <= policy.baselineWindows; back += 1) {
      counters.push(abuseCounterName('rateSpike', tally.subject, minutesWindow(new Date(tally.window.startsAt.getTime() - back * windowMs), policy.windowMinutes)));
    }
    earlier.set(tally.counter, counters);
  }
  const history = await deps.store.totals([...earlier.values()].flat());
  const findings: AbuseFinding[] = [];
  for (const { tally, total } of spikes) {
    const counts = earlier.get(tally.counter)!.map((counter) => history.get(counter) ?? 0);
    const baseline = counts.reduce((sum, count) => sum + count, 0) / counts.length;
    const threshold = Math.max(policy.minRequests, policy.factor * baseline);
    if (total >= threshold) findings.push(findingOf(tally, total, threshold, baseline, deps));
  }
  return findings;
}

function findingOf(tally: Tally, observed: number, threshold: number, baseline: number | undefined, deps: AbuseDeps): AbuseFinding {
  const settings = deps.policy[tally.rule];
  return {
    findingId: `${tally.rule}:${tally.subject.kind}:${tally.subject.id}:${tally.window.label}`,
    rule: tally.rule,
    subject: tally.subject,
    tenant: tally.tenant,
    keyId: tally.subject.kind === 'key' ? tally.subject.id : tally.keyId,
    windowStart: tally.window.startsAt.toISOString(),
    windowEnd: tally.window.endsAt.toISOString(),
    observed,
    threshold: Math.round(threshold * 100) / 100,
    ...(baseline === undefined ? {} : { baseline: Math.round(baseline * 100) / 100 }),
    detectedAt: deps.now().toISOString(),
    action: settings.action,
    sampleRequestIds: tally.samples,
    detail: DETAILS[tally.rule](observed, settings.windowMinutes, tally.subject),
  };
}

async function act(finding: AbuseFinding, deps: AbuseDeps): Promise<NonNullable<AbuseFinding['actionTaken']>> {
  if (finding.action !== 'suspend') return 'none';
  if (finding.subject.kind !== 'key') return 'not-a-key';
  const changed = await deps.keys.changeStatus(finding.subject.id, {
    from: ['active'],
    to: 'suspended',
    // A finding's detail alone may fill the record's limit: cut, not refused, so the suspension still happens.
    reason: shortenStatusReason(`suspended by abuse rule ${finding.rule}: ${finding.detail}`),
    at: deps.now(),
    suspendedByFinding: finding.findingId,
  });
  if (changed === undefined) return 'key-not-found';
  return changed.changed ? 'suspended' : 'already-inactive';
}
