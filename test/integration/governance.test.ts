import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoDbKeyStore } from '../../lib/adapters/dynamodb-key-store';
import { createDynamoDbTenantBudgets } from '../../lib/adapters/dynamodb-tenant-budgets';
import { createDynamoDbUsageLedger } from '../../lib/adapters/dynamodb-usage-ledger';
import { newApiKey } from '../../lib/core/api-key';
import { parseEndpointConfig } from '../../lib/core/endpoint-registry';
import { parseMoney } from '../../lib/core/money';
import { costOf, priceFor } from '../../lib/core/price-table';
import type { UsageEvent } from '../../lib/core/usage-event';
import { contributionOf, type UsageContribution } from '../../lib/core/usage/usage-contribution';
import { runCli, type CliRunOptions } from '../fixtures/run-cli';
import { stackClient } from './stack-client';
import { startTestGateway, type TestGateway } from './test-gateway';

const client = stackClient();
const { stack } = client;
const fixtureConfig = JSON.parse(readFileSync('test/fixtures/endpoints.json', 'utf8')) as Record<string, unknown>;
const pricing = parseEndpointConfig(fixtureConfig).pricing;
const IRIS = { instances: [[5.1, 3.5, 1.4, 0.2]] };

/** A DynamoDB document client of its own on the local stack's emulator, for a test to add middleware to. */
function localDocumentClient(): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1', endpoint: stack.dynamoDbUrl, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }));
}

/** The CLI pointed at the local stack's tables the way an admin points it at a deployment. */
const ADMIN_CLI = { env: { ...stack.environment, MODELGATE_ENDPOINTS_CONFIG: 'test/fixtures/endpoints.json' } } satisfies CliRunOptions;

async function post(baseUrl: string, endpoint: string, key: string, body: unknown) {
  const response = await fetch(`${baseUrl}/serving-endpoints/${endpoint}/invocations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, json: JSON.parse(text) as Record<string, unknown> };
}

/** Limits count in fixed minute windows: a test that must fit in one starts with at least `seconds` of it left. */
async function awayFromMinuteEdge(seconds = 20): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < seconds * 1000) await new Promise((resolve) => setTimeout(resolve, left + 200));
}

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('governance across gateway instances', () => {
  let second: TestGateway;

  beforeAll(async () => {
    // Another gateway process (another "Lambda container") on the same tables.
    second = await startTestGateway(fixtureConfig, { KEY_CACHE_TTL_SECONDS: '2' });
  }, 60_000);

  afterAll(async () => {
    await second?.stop();
  });

  it('holds a key\'s 50 requests a minute across two gateway processes: of 100 fired at once, exactly 50 are served', async () => {
    // Prepare: a key made with the CLI, as an admin would.
    const created = await runCli(['keys', 'create', '--tenant', 'ratelimited', '--endpoints', 'iris', '--rpm', '50', '--json'], ADMIN_CLI);
    expect(created.code).toBe(0);
    const { apiKey } = JSON.parse(created.stdout) as { apiKey: string };
    await awayFromMinuteEdge();
    // Act: 50 requests at each process, all at once.
    const responses = await Promise.all(Array.from({ length: 100 }, (_, index) => post(index % 2 === 0 ? stack.apiUrl : second.url, 'iris', apiKey, IRIS)));
    // Assess
    const statuses = responses.map((response) => response.status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(50);
    expect(statuses.filter((status) => status === 429)).toHaveLength(50);
    for (const refused of responses.filter((response) => response.status === 429)) {
      expect(refused.headers.get('x-modelgate-limit')).toBe('key.requests_per_minute');
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(60);
      expect((refused.json.error as { code: string }).code).toBe('RATE_LIMITED');
    }
  }, 60_000);

  it('holds async requests to the same limit: one over it waits on the queue (RATE_LIMITED) instead of running', async () => {
    // Prepare: a key that may send one request a minute.
    const created = await runCli(['keys', 'create', '--tenant', `asynclimited-${randomUUID().slice(0, 8)}`, '--endpoints', 'iris', '--rpm', '1', '--json'], ADMIN_CLI);
    expect(created.code).toBe(0);
    const { apiKey } = JSON.parse(created.stdout) as { apiKey: string };
    await awayFromMinuteEdge();
    // Act: two submissions, both accepted (submitting calls no model); the worker runs them.
    const first = await client.submitAsync('iris', IRIS, { key: apiKey });
    const second = await client.submitAsync('iris', IRIS, { key: apiKey });
    // Assess
    expect([first.status, second.status]).toEqual([202, 202]);
    const ids = [first.json.request_id as string, second.json.request_id as string];
    const views = await eventually('one request run and the other put back', async () => {
      const answers = await Promise.all(ids.map((id) => client.requestStatus(id, { key: apiKey })));
      const statuses = answers.map((answer) => answer.json.status);
      return statuses.includes('succeeded') && answers.some((answer) => answer.json.last_error !== undefined) ? answers : undefined;
    });
    const ran = views.find((view) => view.json.status === 'succeeded')!;
    const waiting = views.find((view) => view.json.status !== 'succeeded')!;
    expect(ran.json).toMatchObject({ result: { predictions: [{ class: 'setosa' }] } });
    expect(waiting.json).toMatchObject({ status: 'queued', last_error: { code: 'RATE_LIMITED', message: expect.stringContaining('key.requests_per_minute') } });
  }, 60_000);

  it('keeps a tenant within its budget under concurrent calls: the committed spend never passes it by more than one reservation', async () => {
    // Prepare: every call reserves 100 prompt tokens + 100 max_tokens at the costliest entity
    // (claude: 3 and 15 per million) = 0.0018; it costs less on the SageMaker model that serves it.
    const tenant = `thrifty-${randomUUID().slice(0, 8)}`;
    const { apiKey } = await client.createKey({ tenant, endpoints: ['assistant'] });
    const budget = parseMoney('0.01');
    await client.budgets.setBudget({ tenant, monthlyBudgetNanos: budget, currency: 'USD', updatedAt: new Date().toISOString() });
    const reservation = 100 * 3_000 + 100 * 15_000;
    const body = { model: 'assistant', max_tokens: 100, messages: [{ role: 'user', content: 'x'.repeat(400) }] };
    // Act: four waves of ten concurrent calls, through both processes.
    const answers: Array<{ status: number; code?: string; cost: number }> = [];
    for (let wave = 0; wave < 4; wave += 1) {
      answers.push(
        ...(await Promise.all(
          Array.from({ length: 10 }, async (_, index) => {
            const response = await fetch(`${index % 2 === 0 ? stack.apiUrl : second.url}/v1/chat/completions`, {
              method: 'POST',
              headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
              body: JSON.stringify(body),
            });
            const json = (await response.json()) as { usage?: { prompt_tokens: number; completion_tokens: number }; error?: { code: string } };
            const entity = response.headers.get('x-modelgate-served-entity');
            const cost =
              response.status === 200 && json.usage
                ? costOf(priceFor(pricing, 'assistant', entity), { kind: 'tokens', input: json.usage.prompt_tokens, output: json.usage.completion_tokens, estimated: false })
                : 0;
            return { status: response.status, ...(json.error ? { code: json.error.code } : {}), cost };
          }),
        )),
      );
    }
    // Assess
    const month = new Date().toISOString().slice(0, 7);
    const committed = (await client.counters.read([`tenant#${tenant}#cost#${month}`])).get(`tenant#${tenant}#cost#${month}`) ?? 0;
    const spent = answers.reduce((sum, answer) => sum + answer.cost, 0);
    expect(answers.filter((answer) => answer.status === 200).length).toBeGreaterThan(5);
    expect(answers.some((answer) => answer.status === 429 && answer.code === 'BUDGET_EXHAUSTED')).toBe(true);
    expect(committed).toBe(spent);
    expect(spent).toBeLessThanOrEqual(budget + reservation);
  }, 60_000);

  it('suspends a key caught guessing and probing, refuses it with 403 within the key cache TTL, and serves it again once lifted', async () => {
    // Prepare: a key granted iris only, working through the second process (key cache TTL 2 s there).
    const { apiKey, record } = await client.createKey({ tenant: 'mallory', endpoints: ['iris'] });
    expect((await post(second.url, 'iris', apiKey, IRIS)).status).toBe(200);
    await awayFromMinuteEdge();
    // Act: a burst of made-up keys (401) and of calls to an endpoint the key is not granted (403).
    const guesses = await Promise.all(Array.from({ length: 25 }, () => post(second.url, 'iris', newApiKey(), IRIS)));
    const probes = await Promise.all(Array.from({ length: 25 }, () => post(second.url, 'sentiment', apiKey, IRIS)));
    expect(guesses.every((response) => response.status === 401)).toBe(true);
    expect(probes.every((response) => response.status === 403)).toBe(true);
    // Assess: findings for the client IP and the key; the key suspended by the usage aggregator.
    const suspended = await eventually('the key to be suspended', async () => {
      const current = await client.keys.get(record.keyId);
      return current?.status === 'suspended' ? current : undefined;
    });
    const suspendedAt = Date.now();
    expect(suspended.suspendedByFinding).toMatch(new RegExp(`^authFailures:key:${record.keyId}:`));
    const listed = await runCli(['abuse', 'findings', '--from', '10m', '--json'], ADMIN_CLI);
    const findings = (JSON.parse(listed.stdout) as { findings: Array<{ rule: string; subject: { kind: string; id: string }; actionTaken?: string }> }).findings;
    expect(findings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ rule: 'authFailures', subject: { kind: 'key', id: record.keyId }, actionTaken: 'suspended' }),
        expect.objectContaining({ rule: 'authFailures', subject: { kind: 'client-ip', id: '127.0.0.1' } }),
      ]),
    );
    // The gateway refuses it within its key cache TTL (2 s here; KEY_CACHE_TTL_SECONDS, 30 s by default).
    const refused = await eventually('403 for the suspended key', async () => {
      const response = await post(second.url, 'iris', apiKey, IRIS);
      return response.status === 403 ? response : undefined;
    });
    expect(Date.now() - suspendedAt).toBeLessThan(2_000 + 1_500);
    expect((refused.json.error as { message: string }).message).toContain('suspended');
    // Lifting it restores service within the same bound.
    const lifted = await runCli(['keys', 'lift', record.keyId, '--reason', 'false alarm: a test'], ADMIN_CLI);
    expect(lifted.code).toBe(0);
    const liftedAt = Date.now();
    await eventually('200 for the lifted key', async () => ((await post(second.url, 'iris', apiKey, IRIS)).status === 200 ? true : undefined));
    expect(Date.now() - liftedAt).toBeLessThan(2_000 + 1_500);
  }, 60_000);

  it('rotates an active key: the replacement works, the old key until its grace ends; a key suspended meanwhile stays suspended', async () => {
    // Prepare
    const tenant = `rotated-${randomUUID().slice(0, 8)}`;
    const { apiKey: oldKey, record: old } = await client.createKey({ tenant, endpoints: ['iris'] });
    const { record: suspended } = await client.createKey({ tenant, endpoints: ['iris'] });
    // Act
    const rotated = await runCli(['keys', 'rotate', old.keyId, '--grace', '1h', '--json'], ADMIN_CLI);
    await client.keys.changeStatus(suspended.keyId, { from: ['active'], to: 'suspended', reason: 'a finding', at: new Date() });
    const late = await client.keys.markRotated(suspended.keyId, { rotatedTo: 'key_whatever', at: new Date() });
    // Assess
    expect(rotated.code, rotated.stderr).toBe(0);
    const { apiKey, record, replaced } = JSON.parse(rotated.stdout) as { apiKey: string; record: { keyId: string }; replaced: { rotatedTo: string; expiresAt: string } };
    expect(replaced.rotatedTo).toBe(record.keyId);
    expect((await post(stack.apiUrl, 'iris', apiKey, IRIS)).status).toBe(200);
    expect((await post(stack.apiUrl, 'iris', oldKey, IRIS)).status).toBe(200);
    expect(late).toBeUndefined();
    expect(await client.keys.get(suspended.keyId)).toMatchObject({ status: 'suspended' });
    // A key in its grace period is not rotated again (that would extend it, with a second replacement).
    const again = await runCli(['keys', 'rotate', old.keyId, '--grace', '7d'], ADMIN_CLI);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`was already rotated to ${record.keyId}`);
    expect(await client.keys.markRotated(old.keyId, { rotatedTo: 'key_other', at: new Date(), expiresAt: new Date(Date.now() + 7 * 86_400_000) })).toBeUndefined();
    expect(await client.keys.get(old.keyId)).toMatchObject({ rotatedTo: record.keyId, expiresAt: replaced.expiresAt });
  });
});

describe('usage events into the bill', () => {
  function usageEvent(tenant: string, index: number): UsageEvent {
    const chat = index % 3 !== 0;
    return {
      version: 1,
      // Request ids of January 2026, apart from this run's traffic.
      requestId: `019bb000-${String(index).padStart(4, '0')}-7000-8000-${randomUUID().slice(-12)}`,
      time: new Date(Date.UTC(2026, 0, 1 + (index % 28), index % 24, 5)).toISOString(),
      tenant,
      keyId: 'key_replay',
      endpoint: chat ? 'assistant' : 'iris',
      servedEntity: chat ? (index % 2 === 0 ? 'llm-sagemaker' : 'claude-external') : 'iris-v1',
      status: index % 7 === 0 ? 500 : 200,
      // A failure produced nothing (a stream that failed after output would be billed for it).
      units: chat ? { kind: 'tokens', input: 100 + index, output: index % 7 === 0 ? 0 : 20 + (index % 11), estimated: index % 5 === 0 } : { kind: 'rows', input: 1 + (index % 4) },
      requestBytes: 100,
      responseBytes: 100,
      latencyMs: 10 + index,
      backendLatencyMs: 5 + index,
      clientIp: '192.0.2.1',
    };
  }

  async function send(events: readonly UsageEvent[]): Promise<void> {
    for (const event of events) await client.sqs.send(new SendMessageCommand({ QueueUrl: stack.usageQueueUrl, MessageBody: JSON.stringify(event) }));
  }

  it('bills each request once however often its event is delivered, and the month\'s report adds up to the events sent', async () => {
    // Prepare
    const tenant = `replay-${randomUUID().slice(0, 8)}`;
    const events = Array.from({ length: 60 }, (_, index) => usageEvent(tenant, index));
    // Act: every event once, a third of them twice more (duplicates and replays), then all of them again.
    await send(events);
    await send(events.filter((_, index) => index % 3 === 0));
    await send(events.filter((_, index) => index % 3 === 0));
    await eventually('every event counted', async () => ((await Promise.all(events.map((event) => client.ledger.find(event.requestId)))).every((entry) => entry?.state === 'applied') ? true : undefined));
    const first = await runCli(['usage', 'report', '--month', '2026-01', '--tenant', tenant, '--format', 'json'], ADMIN_CLI);
    await send(events);
    await eventually('the replay to be recognised', async () => {
      const entries = await Promise.all(events.map((event) => client.ledger.find(event.requestId)));
      return entries.every((entry, index) => (entry?.duplicatePublishes ?? 0) >= (index % 3 === 0 ? 3 : 1)) ? true : undefined;
    });
    const second = await runCli(['usage', 'report', '--month', '2026-01', '--tenant', tenant, '--format', 'json'], ADMIN_CLI);
    // Assess
    type Report = { lines: Array<{ requests: number; errors: number; inputUnits: number; outputUnits: number; costNanos: number }>; totals: Array<{ requests: number; costNanos: number }> };
    const report = JSON.parse(first.stdout) as Report;
    expect(JSON.parse(second.stdout)).toEqual(report);
    const billable = events.filter((event) => event.status < 400);
    const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);
    expect(report.totals).toEqual([expect.objectContaining({ requests: 60 })]);
    expect(sum(report.lines.map((line) => line.errors))).toBe(events.length - billable.length);
    expect(sum(report.lines.map((line) => line.inputUnits))).toBe(sum(billable.map((event) => event.units.input)));
    expect(sum(report.lines.map((line) => line.outputUnits))).toBe(sum(billable.map((event) => (event.units.kind === 'tokens' ? event.units.output : 0))));
    expect(report.totals[0]!.costNanos).toBe(sum(billable.map((event) => costOf(priceFor(pricing, event.endpoint, event.servedEntity), event.units))));
    const csv = await runCli(['usage', 'report', '--month', '2026-01', '--tenant', tenant, '--format', 'csv'], ADMIN_CLI);
    expect(csv.stdout.split('\n')[0]).toBe('month,tenant,endpoint,served_entity,unit,requests,errors,billable_requests,input_units,output_units,estimated_requests,latency_p50_ms,latency_p95_ms,latency_p99_ms,cost,currency');
    expect(csv.stdout.trim().split('\n')).toHaveLength(1 + report.lines.length);
  }, 60_000);

  /** An event claimed (the claim lapsing at once) and its contribution (`adjust`ed) added to the bill, as a consumer leaves them before its commit. */
  async function claimAndApply(event: UsageEvent, adjust: (contribution: UsageContribution) => void = () => undefined): Promise<UsageContribution> {
    const contribution = contributionOf(event, pricing, () => true)!;
    adjust(contribution);
    expect(await client.ledger.claim([{ event, messageId: `m-${event.requestId}` }], 1, new Date())).toEqual(['claimed']);
    await client.ledger.apply([{ requestId: event.requestId, contribution }]);
    return contribution;
  }

  /** A tenant's event, claimed and added but not committed. */
  async function claimedAndAdded(tenantPrefix: string) {
    const tenant = `${tenantPrefix}-${randomUUID().slice(0, 8)}`;
    const event = usageEvent(tenant, 1);
    return { tenant, event, contribution: await claimAndApply(event) };
  }

  /** The event's message comes back once its claim lapsed; the usage aggregator takes it over. Answers the tenant's requests billed. */
  async function redeliveredAndCounted(tenant: string, event: UsageEvent): Promise<number> {
    await new Promise((resolve) => setTimeout(resolve, 10));
    await client.sqs.send(new SendMessageCommand({ QueueUrl: stack.usageQueueUrl, MessageBody: JSON.stringify(event) }));
    await eventually('the event committed', async () => ((await client.ledger.find(event.requestId))?.state === 'applied' ? true : undefined));
    const rows = await client.ledger.monthRows(tenant, '2026-01');
    return rows.reduce((sum, row) => sum + row.requests, 0);
  }

  it('keeps a line of tokens in tokens when a request in it consumed none (a failure, counted in rows)', async () => {
    // Prepare: a chat request billed in tokens, then a refused one of the same hour and entity, in rows.
    const tenant = `unit-${randomUUID().slice(0, 8)}`;
    const served = usageEvent(tenant, 1);
    const refused: UsageEvent = { ...usageEvent(tenant, 1), status: 400, units: { kind: 'rows', input: 0 } };
    // Act
    for (const event of [served, refused]) await claimAndApply(event);
    // Assess
    expect(await client.ledger.monthRows(tenant, '2026-01')).toEqual([expect.objectContaining({ unit: 'tokens', requests: 2 })]);
  });

  it('holds the month\'s spend from before a budget was set against it, once one is', async () => {
    // Prepare: a tenant without a budget spent this month (on the bill, not on any budget counter).
    const tenant = `late-${randomUUID().slice(0, 8)}`;
    const contribution = await claimAndApply({ ...usageEvent(tenant, 1), time: new Date().toISOString() });
    expect(contribution.increments.costNanos).toBeGreaterThan(0);
    // Act
    const set = await runCli(['budgets', 'set', '--tenant', tenant, '--monthly', '10'], ADMIN_CLI);
    const listed = await runCli(['budgets', 'list', '--json'], ADMIN_CLI);
    // Assess
    expect(set.code, set.stderr).toBe(0);
    expect(listed.code, listed.stderr).toBe(0);
    const row = (JSON.parse(listed.stdout) as { budgets: Array<{ tenant: string; committedNanos: number }> }).budgets.find((budget) => budget.tenant === tenant);
    expect(row?.committedNanos).toBe(contribution.increments.costNanos);
  });

  it('lists a budget set in another currency than the prices as one its tenant is refused under until set again', async () => {
    // Prepare: the local price table is in USD; this budget was set when it was in EUR.
    const tenant = `euro-${randomUUID().slice(0, 8)}`;
    await client.budgets.setBudget({ tenant, monthlyBudgetNanos: parseMoney('5'), currency: 'EUR', updatedAt: new Date().toISOString() });
    // Act
    const listed = await runCli(['budgets', 'list'], ADMIN_CLI);
    const json = await runCli(['budgets', 'list', '--json'], ADMIN_CLI);
    // Assess
    expect(listed.stdout).toMatch(new RegExp(`Prices are in USD; these budgets are not.*${tenant} \\(EUR\\)`));
    const row = (JSON.parse(json.stdout) as { budgets: Array<{ tenant: string; inPriceCurrency: boolean }> }).budgets.find((budget) => budget.tenant === tenant);
    expect(row?.inPriceCurrency).toBe(false);
  });

  it('reads back a line whose cost summed past what a number holds exactly, not as nothing', async () => {
    // Prepare: two requests of 5,000,000 (in nanos: 5e15 each) in one line, summed by DynamoDB to 1e16.
    const tenant = `big-${randomUUID().slice(0, 8)}`;
    for (const event of [usageEvent(tenant, 1), usageEvent(tenant, 1)]) await claimAndApply(event, (contribution) => (contribution.increments.costNanos = 5e15));
    // Act
    const rows = await client.ledger.monthRows(tenant, '2026-01');
    // Assess
    expect(rows).toEqual([expect.objectContaining({ requests: 2, costNanos: 1e16 })]);
  });

  it('counts a request once when the consumer died between adding it and committing it', async () => {
    // Prepare: a claim, its contribution added, no commit (the consumer "crashed"), the claim lapsed.
    const { tenant, event } = await claimedAndAdded('crash');
    // Act / Assess
    expect(await redeliveredAndCounted(tenant, event)).toBe(1);
  });

  it('counts a request once when its commit failed to mark it counted, whatever else that commit did', async () => {
    // Prepare: a claim and its contribution added, then a commit whose ledger update fails
    // (throttled, say) while the rest of it goes through.
    const { tenant, event, contribution } = await claimedAndAdded('half');
    const throttled = localDocumentClient();
    throttled.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as { UpdateExpression?: string };
        if (input.UpdateExpression?.startsWith('SET #state')) throw new Error('throttled');
        return next(args);
      },
      { step: 'initialize' },
    );
    const ledger = createDynamoDbUsageLedger(throttled, { tableName: stack.tables.UsageTable });
    await expect(ledger.commit([{ requestId: event.requestId, contribution }])).rejects.toThrow('throttled');
    // Act / Assess
    expect(await redeliveredAndCounted(tenant, event)).toBe(1);
  });
});

describe('the governance tables, read whole', () => {
  it('lists a tenant\'s keys, every key, and every budget, as the CLI does', async () => {
    // Prepare
    const tenant = `listed-${randomUUID().slice(0, 8)}`;
    const first = await client.createKey({ tenant, endpoints: ['*'] });
    const second = await client.createKey({ tenant, endpoints: ['iris'] });
    await client.budgets.setBudget({ tenant, monthlyBudgetNanos: parseMoney('5'), currency: 'USD', updatedAt: new Date().toISOString() });
    // The stores on a client that reads one item per page: a listing that stopped after its first
    // page would miss keys and budgets.
    const paged = localDocumentClient();
    const pages: string[] = [];
    paged.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'QueryCommand' || context.commandName === 'ScanCommand') {
          (args.input as { Limit?: number }).Limit = 1;
          pages.push(context.commandName);
        }
        return next(args);
      },
      { step: 'initialize', name: 'onePerPage' },
    );
    const keys = createDynamoDbKeyStore(paged, { tableName: stack.tables.KeysTable, cacheTtlMs: 0 });
    const budgetStore = createDynamoDbTenantBudgets(paged, { tableName: stack.tables.LimitsTable, cacheTtlMs: 0 });
    // Act
    const ofTenant = await keys.list({ tenant });
    const tenantPages = pages.length;
    const all = await keys.list();
    const budgets = await budgetStore.list();
    // Assess
    expect(tenantPages).toBeGreaterThan(1);
    expect(ofTenant.map((record) => record.keyId).sort()).toEqual([first.record.keyId, second.record.keyId].sort());
    expect(all.map((record) => record.keyId)).toEqual(expect.arrayContaining([first.record.keyId, second.record.keyId]));
    expect(all.length).toBeGreaterThan(ofTenant.length);
    expect(budgets).toContainEqual(expect.objectContaining({ tenant, monthlyBudgetNanos: parseMoney('5') }));
  });
});
