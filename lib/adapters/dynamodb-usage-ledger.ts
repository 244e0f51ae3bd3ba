import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, paginateQuery, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { addIncrements, aggregateKeyId, emptyIncrements, type UsageAggregateKey, type UsageContribution, type UsageIncrements } from '../core/usage/usage-contribution';
import { LATENCY_BUCKETS } from '../core/usage/latency-histogram';
import type { UsageRow } from '../core/usage/usage-report';
import { usageEventSchema, type UsageEvent } from '../core/usage-event';
import type { ClaimOutcome, LedgerEntry, UsageLedger } from '../ports/usage-ledger';

/** Ledger items outlive SQS's longest retention (14 days) by a margin: replays within it are recognised. */
const LEDGER_DAYS = 45;
/** Ids per guarded aggregate update: each is a `NOT contains(...)` term in the condition. */
const GUARD_CHUNK = 20;
const COUNTERS = ['requests', 'errors', 'billable', 'inputUnits', 'outputUnits', 'estimated', 'costNanos'] as const;

/**
 * The usage table: `pk`/`sk` items of three kinds. Ledger: `request#<id>` / `event` (the event,
 * its state and lease). Aggregates: `usage#<tenant>#<YYYY-MM>` / `<hour>#<endpoint>#<entity>`,
 * counters plus a latency histogram (`h<bucket>`) and `inflight`, the guard set of request ids
 * added but not yet committed. Month index: `month#<YYYY-MM>` / `<tenant>`.
 */
export function createDynamoDbUsageLedger(client: DynamoDBDocumentClient, options: { tableName: string }): UsageLedger {
  const table = options.tableName;
  const ledgerKey = (requestId: string) => ({ pk: `request#${requestId}`, sk: 'event' });
  const aggregateKey = (key: UsageAggregateKey) => ({ pk: `usage#${key.tenant}#${key.month}`, sk: `${key.hour}#${key.endpoint}#${key.servedEntity}` });

  async function claimOne(event: UsageEvent, messageId: string, leaseMs: number, now: Date): Promise<ClaimOutcome> {
    try {
      await client.send(
        new UpdateCommand({
          TableName: table,
          Key: ledgerKey(event.requestId),
          UpdateExpression:
            'SET #state = if_not_exists(#state, :pending), leaseUntil = :leaseUntil, messageId = if_not_exists(messageId, :messageId), #event = if_not_exists(#event, :event), expiresAt = if_not_exists(expiresAt, :expiresAt)',
          ConditionExpression: 'attribute_not_exists(pk) OR (#state = :pending AND leaseUntil < :now)',
          ExpressionAttributeNames: { '#state': 'state', '#event': 'event' },
          ExpressionAttributeValues: {
            ':pending': 'pending',
            ':leaseUntil': now.getTime() + leaseMs,
            ':now': now.getTime(),
            ':messageId': messageId,
            ':event': event,
            ':expiresAt': Math.ceil(now.getTime() / 1000) + LEDGER_DAYS * 86_400,
          },
        }),
      );
      return 'claimed';
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    const { Item } = await client.send(new GetCommand({ TableName: table, Key: ledgerKey(event.requestId), ConsistentRead: true }));
    if (Item?.messageId !== undefined && Item.messageId !== messageId) {
      // The same usage in another message: published twice. A set, so redeliveries of it count once.
      await client.send(
        new UpdateCommand({
          TableName: table,
          Key: ledgerKey(event.requestId),
          UpdateExpression: 'ADD duplicateMessageIds :messageId',
          ExpressionAttributeValues: { ':messageId': new Set([messageId]) },
        }),
      );
    }
    return Item?.state === 'applied' ? 'duplicate' : 'busy';
  }

  function guardedUpdate(key: UsageAggregateKey, increments: UsageIncrements, requestIds: readonly string[]) {
    const names: Record<string, string> = { '#tenant': 'tenant', '#hour': 'hour', '#endpoint': 'endpoint', '#entity': 'servedEntity', '#unit': 'unit', '#inflight': 'inflight' };
    const values: Record<string, unknown> = {
      ':tenant': key.tenant,
      ':hour': key.hour,
      ':endpoint': key.endpoint,
      ':entity': key.servedEntity,
      ':unit': increments.unit,
      ':ids': new Set(requestIds),
    };
    const adds = ['#inflight :ids'];
    for (const counter of COUNTERS) {
      names[`#${counter}`] = counter;
      values[`:${counter}`] = increments[counter];
      adds.push(`#${counter} :${counter}`);
    }
    for (const [bucket, count] of Object.entries(increments.latency)) {
      values[`:h${bucket}`] = count;
      adds.push(`h${bucket} :h${bucket}`);
    }
    requestIds.forEach((id, index) => (values[`:id${index}`] = id));
    return client.send(
      new UpdateCommand({
        TableName: table,
        Key: aggregateKey(key),
        // Tokens win over rows, as within a chunk: a request that consumed nothing (a failure,
        // counted in rows) must not relabel a line of tokens.
        UpdateExpression: `SET #tenant = :tenant, #hour = :hour, #endpoint = :endpoint, #entity = :entity, ${increments.unit === 'tokens' ? '#unit = :unit' : '#unit = if_not_exists(#unit, :unit)'} ADD ${adds.join(', ')}`,
        ConditionExpression: requestIds.map((_, index) => `NOT contains(#inflight, :id${index})`).join(' AND '),
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
  }

  /** Adds a chunk in one update; if one of its ids was added before (a crashed attempt), adds them one by one, skipping those. */
  async function applyChunk(key: UsageAggregateKey, chunk: ReadonlyArray<{ requestId: string; increments: UsageIncrements }>): Promise<void> {
    const sum = chunk.reduce((total, item) => addIncrements(total, item.increments), emptyIncrements(chunk[0]!.increments.unit));
    try {
      await guardedUpdate(key, sum, chunk.map((item) => item.requestId));
      return;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException) || chunk.length === 1) {
        if (error instanceof ConditionalCheckFailedException) return;
        throw error;
      }
    }
    for (const item of chunk) {
      try {
        await guardedUpdate(key, item.increments, [item.requestId]);
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    }
  }

  function groups<T extends { contribution: UsageContribution | undefined }>(items: readonly T[]): Map<string, { key: UsageAggregateKey; items: T[] }> {
    const byKey = new Map<string, { key: UsageAggregateKey; items: T[] }>();
    for (const item of items) {
      if (!item.contribution) continue;
      const id = aggregateKeyId(item.contribution.key);
      const group = byKey.get(id) ?? { key: item.contribution.key, items: [] };
      group.items.push(item);
      byKey.set(id, group);
    }
    return byKey;
  }

  const chunks = <T>(items: readonly T[]): T[][] => {
    const result: T[][] = [];
    for (let start = 0; start < items.length; start += GUARD_CHUNK) result.push(items.slice(start, start + GUARD_CHUNK));
    return result;
  };

  return {
    async claim(entries, leaseMs, now) {
      return Promise.all(entries.map(({ event, messageId }) => claimOne(event, messageId, leaseMs, now)));
    },

    async apply(contributions) {
      const byKey = groups(contributions);
      const months = new Set<string>();
      const work: Array<Promise<unknown>> = [];
      for (const { key, items } of byKey.values()) {
        months.add(`${key.month}\u0000${key.tenant}`);
        for (const chunk of chunks(items)) work.push(applyChunk(key, chunk.map((item) => ({ requestId: item.requestId, increments: item.contribution.increments }))));
      }
      for (const month of months) {
        const [name, tenant] = month.split('\u0000') as [string, string];
        work.push(client.send(new PutCommand({ TableName: table, Item: { pk: `month#${name}`, sk: tenant } })));
      }
      const results = await Promise.allSettled(work);
      const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
      if (failed) throw failed.reason;
    },

    async commit(applied) {
      // The ledger entries first, the guards after. A guard removed while its entry is still
      // pending would let a later delivery claim the request again and find nothing stopping a
      // second count; a guard left behind (its removal failed) only stays in the set.
      const marked = await Promise.allSettled(
        applied.map(({ requestId }) =>
          client.send(
            new UpdateCommand({
              TableName: table,
              Key: ledgerKey(requestId),
              UpdateExpression: 'SET #state = :applied REMOVE leaseUntil',
              ExpressionAttributeNames: { '#state': 'state' },
              ExpressionAttributeValues: { ':applied': 'applied' },
            }),
          ),
        ),
      );
      const notMarked = marked.find((result): result is PromiseRejectedResult => result.status === 'rejected');
      if (notMarked) throw notMarked.reason;
      const unguarded: Array<Promise<unknown>> = [];
      for (const { key, items } of groups(applied).values()) {
        for (const chunk of chunks(items)) {
          unguarded.push(
            client.send(
              new UpdateCommand({
                TableName: table,
                Key: aggregateKey(key),
                UpdateExpression: 'DELETE #inflight :ids',
                ExpressionAttributeNames: { '#inflight': 'inflight' },
                ExpressionAttributeValues: { ':ids': new Set(chunk.map((item) => item.requestId)) },
              }),
            ),
          );
        }
      }
      const results = await Promise.allSettled(unguarded);
      const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
      if (failed) throw failed.reason;
    },

    async monthRows(tenant, month) {
      const rows: UsageRow[] = [];
      const pages = paginateQuery(
        { client },
        { TableName: table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `usage#${tenant}#${month}` }, ConsistentRead: true },
      );
      for await (const page of pages) for (const item of page.Items ?? []) rows.push(toRow(item));
      return rows;
    },

    async tenantsOf(month) {
      const tenants: string[] = [];
      const pages = paginateQuery({ client }, { TableName: table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `month#${month}` } });
      for await (const page of pages) for (const item of page.Items ?? []) tenants.push(String(item.sk));
      return tenants.sort();
    },

    async find(requestId): Promise<LedgerEntry | undefined> {
      const { Item } = await client.send(new GetCommand({ TableName: table, Key: ledgerKey(requestId), ConsistentRead: true }));
      if (!Item) return undefined;
      const duplicates = Item.duplicateMessageIds instanceof Set ? Item.duplicateMessageIds.size : 0;
      return { event: usageEventSchema.parse(Item.event), state: Item.state === 'applied' ? 'applied' : 'pending', duplicatePublishes: duplicates };
    },
  };
}

function toRow(item: Record<string, unknown>): UsageRow {
  const latency: Record<number, number> = {};
  for (let bucket = 0; bucket < LATENCY_BUCKETS; bucket += 1) {
    const count = item[`h${bucket}`];
    if (typeof count === 'number' && count > 0) latency[bucket] = count;
  }
  // A sum past Number.MAX_SAFE_INTEGER (cost in nanos over about 9 million) comes back as a bigint:
  // read as the nearest number (off by less than a millionth of a unit), never as nothing.
  const number = (name: string) => {
    const value = item[name];
    return typeof value === 'number' ? value : typeof value === 'bigint' ? Number(value) : 0;
  };
  return {
    tenant: String(item.tenant),
    hour: String(item.hour),
    endpoint: String(item.endpoint),
    servedEntity: String(item.servedEntity),
    unit: item.unit === 'tokens' ? 'tokens' : 'rows',
    requests: number('requests'),
    errors: number('errors'),
    billable: number('billable'),
    inputUnits: number('inputUnits'),
    outputUnits: number('outputUnits'),
    estimated: number('estimated'),
    costNanos: number('costNanos'),
    latency,
  };
}
