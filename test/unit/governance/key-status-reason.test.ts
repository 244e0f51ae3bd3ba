import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoDbAbuseStore } from '../../../lib/adapters/dynamodb-abuse-store';
import { createDynamoDbKeyStore } from '../../../lib/adapters/dynamodb-key-store';
import { abusePolicySchema } from '../../../lib/core/abuse/abuse-policy';
import { abuseCounterName, detectAbuse } from '../../../lib/core/abuse/detect-abuse';
import { apiKeyRecordFor, MAX_STATUS_REASON_LENGTH, shortenStatusReason } from '../../../lib/core/api-key';
import { InvalidRequestError } from '../../../lib/core/errors';
import { minutesWindow } from '../../../lib/core/limits/limit-windows';
import type { UsageEvent } from '../../../lib/core/usage-event';
import type { KeyAdminStore } from '../../../lib/ports/key-store';
import { MemoryKeyAdminStore } from '../../fakes/fake-governance';
import { startGovernanceDynamoDb, type GovernanceDynamoDb } from '../../fixtures/governance-dynamodb';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

let dynamodb: GovernanceDynamoDb;
let documents: DynamoDBDocumentClient;
let tables: GovernanceDynamoDb['tables'];
let keys: KeyAdminStore;
beforeAll(async () => {
  dynamodb = await startGovernanceDynamoDb();
  ({ documents, tables } = dynamodb);
  keys = createDynamoDbKeyStore(documents, { tableName: tables.KeysTable, cacheTtlMs: 0, negativeCacheTtlMs: 0 });
});
afterAll(() => dynamodb.stop());

let sequence = 0;
async function activeKey(tenant: string) {
  sequence += 1;
  const apiKey = `mgk_${String(sequence).padStart(43, 'r')}`;
  const record = apiKeyRecordFor(apiKey, { tenant, roles: ['invoke'], endpoints: ['iris'], now: new Date('2026-11-01T00:00:00Z') });
  await keys.create(record);
  return record;
}

describe('a key status reason against the key record it is written to (DynamoDB key store on dynalite)', () => {
  it('refuses a reason longer than the record holds, naming the limit, and leaves the key readable and unchanged', async () => {
    // Prepare
    const record = await activeKey('verbose');
    // Act
    const refused = keys.changeStatus(record.keyId, { from: ['active'], to: 'suspended', reason: 'x'.repeat(MAX_STATUS_REASON_LENGTH + 1), at: new Date() });
    // Assess
    await expect(refused).rejects.toThrow(InvalidRequestError);
    await expect(refused).rejects.toThrow(`Key ${record.keyId} was not changed: statusReason: at most ${MAX_STATUS_REASON_LENGTH} characters`);
    expect(await keys.findByHash(record.keyHash)).toMatchObject({ keyId: record.keyId, status: 'active' });
    expect(await keys.get(record.keyId)).toMatchObject({ status: 'active' });
    expect((await keys.list({ tenant: 'verbose' })).map((listed) => listed.keyId)).toEqual([record.keyId]);
  });

  it('writes a reason of exactly the limit', async () => {
    const record = await activeKey('terse');
    const reason = 'y'.repeat(MAX_STATUS_REASON_LENGTH);
    const result = await keys.changeStatus(record.keyId, { from: ['active'], to: 'revoked', reason, at: new Date() });
    expect(result).toMatchObject({ changed: true, record: { status: 'revoked', statusReason: reason } });
    expect(await keys.get(record.keyId)).toMatchObject({ status: 'revoked', statusReason: reason });
  });

  it('suspends a key whose abuse finding has the longest detail a finding holds, with a shortened reason, and the key stays readable', async () => {
    // Prepare: 19 refused calls counted and a finding already recorded for this window, its
    // suspension not yet done (a crash in between); the 20th call reaches the threshold again.
    const record = await activeKey('mallory');
    const abuse = createDynamoDbAbuseStore(documents, { tableName: tables.AbuseTable });
    const window = minutesWindow(new Date('2026-11-21T10:15:10Z'), 1);
    await abuse.count([{ counter: abuseCounterName('authFailures', { kind: 'key', id: record.keyId }, window), amount: 19, windowEndsAt: window.endsAt }]);
    const detectedAt = '2026-11-21T10:15:30.000Z';
    const lead = `20 refused requests (403) with API key ${record.keyId} in 1 min (probing what it is not granted); `;
    await abuse.recordFinding({
      findingId: `authFailures:key:${record.keyId}:2026-11-21T10:15Z`,
      rule: 'authFailures',
      subject: { kind: 'key', id: record.keyId },
      tenant: 'mallory',
      keyId: record.keyId,
      windowStart: '2026-11-21T10:15:00.000Z',
      windowEnd: '2026-11-21T10:16:00.000Z',
      observed: 20,
      threshold: 20,
      detectedAt,
      action: 'suspend',
      sampleRequestIds: ['req-1'],
      detail: lead + 'z'.repeat(500 - lead.length),
    });
    const refusedCall: UsageEvent = {
      version: 1,
      requestId: 'req-21',
      time: '2026-11-21T10:15:10.000Z',
      tenant: 'mallory',
      keyId: record.keyId,
      endpoint: 'sentiment',
      servedEntity: null,
      status: 403,
      units: { kind: 'rows', input: 0 },
      requestBytes: 10,
      responseBytes: 10,
      latencyMs: 1,
      backendLatencyMs: null,
      clientIp: '203.0.113.66',
    };
    const policy = abusePolicySchema.parse({ authFailures: { threshold: 20 }, rateSpike: { enabled: false } });
    // Act
    await detectAbuse([refusedCall], { store: abuse, keys, policy, now: () => new Date(detectedAt) });
    // Assess
    const suspended = await keys.findByHash(record.keyHash);
    expect(suspended).toMatchObject({ status: 'suspended', suspendedByFinding: `authFailures:key:${record.keyId}:2026-11-21T10:15Z` });
    expect(suspended?.statusReason).toHaveLength(MAX_STATUS_REASON_LENGTH);
    expect(suspended?.statusReason).toMatch(new RegExp(`^suspended by abuse rule authFailures: 20 refused requests \\(403\\) with API key ${record.keyId} .*z…$`));
    const [finding] = await abuse.listFindings({ from: new Date('2026-11-21T10:00:00Z'), to: new Date('2026-11-21T11:00:00Z') });
    expect(finding?.actionTaken).toBe('suspended');
  });
});

describe('other updates of a key record against what its reads accept (DynamoDB key store on dynalite)', () => {
  it('refuses limits outside the record\'s bounds and a replacement id longer than it holds, and leaves the key readable and unchanged', async () => {
    // Prepare
    const record = await activeKey('careless');
    // Act
    const limits = keys.setLimits(record.keyId, { requestsPerMinute: 0 });
    const rotation = keys.markRotated(record.keyId, { rotatedTo: `key_${'r'.repeat(61)}`, at: new Date() });
    // Assess
    await expect(limits).rejects.toThrow(`Key ${record.keyId} was not changed: limits.requestsPerMinute`);
    await expect(rotation).rejects.toThrow(`Key ${record.keyId} was not changed: rotatedTo`);
    expect(await keys.findByHash(record.keyHash)).toMatchObject({ keyId: record.keyId, status: 'active' });
    const stored = await keys.get(record.keyId);
    expect(stored?.limits).toBeUndefined();
    expect(stored?.rotatedTo).toBeUndefined();
  });
});

describe('the test fake against the DynamoDB key store', () => {
  it.each([
    ['the DynamoDB key store', () => keys],
    ['the in-memory fake', () => new MemoryKeyAdminStore()],
  ])('%s forgets the finding that suspended a key once a change names none (a lift)', async (_, storeOf) => {
    // Prepare
    const store = storeOf();
    sequence += 1;
    const record = apiKeyRecordFor(`mgk_${String(sequence).padStart(43, 'f')}`, { tenant: 'lifted', roles: ['invoke'], endpoints: ['iris'], now: new Date('2026-11-01T00:00:00Z') });
    await store.create(record);
    await store.changeStatus(record.keyId, { from: ['active'], to: 'suspended', reason: 'a finding', at: new Date(), suspendedByFinding: 'authFailures:key:x:2026-11-21T10:15Z' });
    // Act
    await store.changeStatus(record.keyId, { from: ['suspended'], to: 'active', reason: 'lifted by an admin', at: new Date() });
    // Assess
    const lifted = await store.get(record.keyId);
    expect(lifted).toMatchObject({ status: 'active', statusReason: 'lifted by an admin' });
    expect(lifted?.suspendedByFinding).toBeUndefined();
  });
});

describe('shortenStatusReason', () => {
  it('leaves a reason within the limit as it is', () => {
    expect(shortenStatusReason('suspended by abuse rule badRequests: 5 malformed requests')).toBe('suspended by abuse rule badRequests: 5 malformed requests');
  });

  it('never cuts a character written as two UTF-16 units in half', () => {
    const reason = `${'a'.repeat(MAX_STATUS_REASON_LENGTH - 2)}🔑 and more`;
    const shortened = shortenStatusReason(reason);
    expect(shortened).toBe(`${'a'.repeat(MAX_STATUS_REASON_LENGTH - 2)}…`);
    expect(shortened.length).toBeLessThanOrEqual(MAX_STATUS_REASON_LENGTH);
  });
});
