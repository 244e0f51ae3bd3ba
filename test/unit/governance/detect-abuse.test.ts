import { beforeEach, describe, expect, it } from 'vitest';
import { abusePolicySchema } from '../../../lib/core/abuse/abuse-policy';
import { abuseCounterName, detectAbuse, type AbuseDeps } from '../../../lib/core/abuse/detect-abuse';
import { apiKeyRecordFor } from '../../../lib/core/api-key';
import { minutesWindow } from '../../../lib/core/limits/limit-windows';
import type { UsageEvent } from '../../../lib/core/usage-event';
import { MemoryAbuseStore, MemoryKeyAdminStore } from '../../fakes/fake-governance';

const KEY = apiKeyRecordFor(`mgk_${'m'.repeat(43)}`, { tenant: 'mallory', roles: ['invoke'], endpoints: ['iris'], now: new Date('2026-11-01T00:00:00Z') });
let sequence = 0;

function event(overrides: Partial<UsageEvent>): UsageEvent {
  sequence += 1;
  return {
    version: 1,
    requestId: `req-${sequence}`,
    time: '2026-11-21T10:15:10.000Z',
    tenant: 'mallory',
    keyId: KEY.keyId,
    endpoint: 'iris',
    servedEntity: 'iris-v1',
    status: 200,
    units: { kind: 'rows', input: 1 },
    requestBytes: 10,
    responseBytes: 10,
    latencyMs: 5,
    backendLatencyMs: 4,
    clientIp: '203.0.113.66',
    ...overrides,
  };
}

const times = (count: number, make: () => UsageEvent) => Array.from({ length: count }, make);

describe('abuse rules over the usage stream', () => {
  let store: MemoryAbuseStore;
  let keys: MemoryKeyAdminStore;
  let deps: AbuseDeps;

  beforeEach(() => {
    store = new MemoryAbuseStore();
    keys = new MemoryKeyAdminStore([KEY]);
    deps = {
      store,
      keys,
      policy: abusePolicySchema.parse({ authFailures: { threshold: 20 }, rateSpike: { minRequests: 50, factor: 5, baselineWindows: 3 } }),
      now: () => new Date('2026-11-21T10:15:30Z'),
    };
  });

  it('sees key guessing in 401s per client IP (unknown keys have no key id), without suspending anyone', async () => {
    const guesses = times(20, () => event({ status: 401, tenant: null, keyId: null, servedEntity: null }));
    const findings = await detectAbuse(guesses, deps);
    expect(findings).toEqual([
      expect.objectContaining({ rule: 'authFailures', subject: { kind: 'client-ip', id: '203.0.113.66' }, observed: 20, action: 'suspend', actionTaken: 'not-a-key' }),
    ]);
  });

  it('suspends a key refused 403 in a burst, once per window, however the burst is split into batches', async () => {
    // Act
    const first = await detectAbuse(times(15, () => event({ status: 403, endpoint: 'sentiment' })), deps);
    const second = await detectAbuse(times(10, () => event({ status: 403, endpoint: 'sentiment' })), deps);
    const third = await detectAbuse(times(10, () => event({ status: 403, endpoint: 'sentiment' })), deps);
    // Assess
    expect(first).toEqual([]);
    expect(second).toEqual([expect.objectContaining({ findingId: `authFailures:key:${KEY.keyId}:2026-11-21T10:15Z`, observed: 25, actionTaken: 'suspended' })]);
    expect(third).toEqual([]);
    expect(await keys.get(KEY.keyId)).toMatchObject({ status: 'suspended', suspendedByFinding: `authFailures:key:${KEY.keyId}:2026-11-21T10:15Z` });
  });

  it('takes a finding\'s action on the retry when a crash came between recording and acting', async () => {
    // Prepare: the finding was recorded, the suspension never happened.
    await store.count([{ counter: abuseCounterName('authFailures', { kind: 'key', id: KEY.keyId }, minutesWindow(new Date('2026-11-21T10:15:10Z'), 1)), amount: 19, windowEndsAt: new Date() }]);
    const findings = await detectAbuse([event({ status: 403 })], deps);
    store.findings.get(findings[0]!.findingId)!.actionTaken = undefined;
    await keys.changeStatus(KEY.keyId, { from: ['suspended'], to: 'active', reason: 'simulated crash', at: new Date() });
    // Act
    const again = await detectAbuse([event({ status: 403 })], deps);
    // Assess
    expect(again).toEqual([]);
    expect((await keys.get(KEY.keyId))?.status).toBe('suspended');
  });

  it('flags a key whose rate spikes against its own baseline, and not one that was always that busy', async () => {
    // Prepare: 20 requests in each of the three windows before, for the steady key only.
    const window = minutesWindow(new Date('2026-11-21T10:15:10Z'), 5);
    for (let back = 1; back <= 3; back += 1) {
      const earlier = minutesWindow(new Date(window.startsAt.getTime() - back * 300_000), 5);
      await store.count([{ counter: abuseCounterName('rateSpike', { kind: 'key', id: 'key_steady' }, earlier), amount: 20, windowEndsAt: earlier.endsAt }]);
    }
    // Act: 60 requests each now: over 50, over 5 × 0 for the new key, under 5 × 20 for the steady one.
    const findings = await detectAbuse([...times(60, () => event({})), ...times(60, () => event({ keyId: 'key_steady' }))], deps);
    // Assess
    expect(findings).toEqual([expect.objectContaining({ rule: 'rateSpike', subject: { kind: 'key', id: KEY.keyId }, observed: 60, baseline: 0, actionTaken: 'none' })]);
  });

  it('counts bursts of malformed and oversized requests, and repeated guardrail flags', async () => {
    deps.policy = abusePolicySchema.parse({ badRequests: { threshold: 5 }, contentFlags: { threshold: 2, action: 'finding' } });
    const findings = await detectAbuse([...times(3, () => event({ status: 400 })), ...times(2, () => event({ status: 413 })), ...times(2, () => event({ contentFlags: ['prompt-injection'] }))], deps);
    expect(findings.map((finding) => finding.rule).sort()).toEqual(['badRequests', 'contentFlags']);
  });

  it('counts a queue producer\'s requests (no key, no address) against the tenant\'s producers, and suspends no one', async () => {
    // Prepare: guardrail matches from messages a producer sent straight onto the queue.
    const fromProducer = () => event({ keyId: null, clientIp: null, contentFlags: ['prompt-injection'] });
    // A message naming another tenant, refused by its producer grant (403): it may name any tenant, so it counts for none.
    const forged = () => event({ keyId: null, clientIp: null, tenant: 'victim', status: 403, contentFlags: ['prompt-injection'] });
    deps.policy = abusePolicySchema.parse({ contentFlags: { threshold: 2, action: 'suspend' }, authFailures: { threshold: 2 } });
    // Act
    const findings = await detectAbuse([...times(2, fromProducer), ...times(3, forged)], deps);
    // Assess
    expect(findings).toEqual([expect.objectContaining({ rule: 'contentFlags', subject: { kind: 'producer', id: 'mallory' }, actionTaken: 'not-a-key' })]);
    expect(findings[0]!.detail).toContain("from tenant mallory's queue producers");
    expect(await keys.get(KEY.keyId)).toMatchObject({ status: 'active' });
  });
});
