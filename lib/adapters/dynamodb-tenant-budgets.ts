import { DeleteCommand, GetCommand, paginateScan, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { tenantBudgetSchema, type TenantBudget } from '../core/limits/tenant-budget';
import type { TenantBudgetAdmin } from '../ports/tenant-budgets';
import { TtlCache } from './ttl-cache';

const PREFIX = 'budget#';

/**
 * Tenants' monthly budgets, one item each in the limits table (`pk` = `budget#<tenant>`), beside
 * the counters that spend them. The gateway caches them like keys: a change reaches every
 * instance within `cacheTtlMs`.
 */
export function createDynamoDbTenantBudgets(
  client: DynamoDBDocumentClient,
  options: { tableName: string; cacheTtlMs?: number; now?: () => number },
): TenantBudgetAdmin {
  const table = options.tableName;
  const ttl = options.cacheTtlMs ?? 30_000;
  // "No budget" is as cacheable as a budget: both change only by an admin's hand.
  const cache = new TtlCache<TenantBudget>(ttl, ttl, options.now);
  return {
    budgetOf(tenant) {
      return cache.getOrLoad(tenant, async () => {
        const { Item } = await client.send(new GetCommand({ TableName: table, Key: { pk: `${PREFIX}${tenant}` }, ConsistentRead: true }));
        return Item === undefined ? undefined : toBudget(Item);
      });
    },
    async setBudget(budget) {
      await client.send(new PutCommand({ TableName: table, Item: { pk: `${PREFIX}${budget.tenant}`, ...tenantBudgetSchema.parse(budget) } }));
      cache.delete(budget.tenant);
    },
    async removeBudget(tenant) {
      await client.send(new DeleteCommand({ TableName: table, Key: { pk: `${PREFIX}${tenant}` } }));
      cache.delete(tenant);
    },
    async list() {
      const budgets: TenantBudget[] = [];
      const pages = paginateScan({ client }, { TableName: table, FilterExpression: 'begins_with(pk, :prefix)', ExpressionAttributeValues: { ':prefix': PREFIX } });
      for await (const page of pages) for (const item of page.Items ?? []) budgets.push(toBudget(item));
      return budgets.sort((a, b) => a.tenant.localeCompare(b.tenant));
    },
  };
}

function toBudget(item: Record<string, unknown>): TenantBudget {
  const { pk: _pk, ...budget } = item;
  return tenantBudgetSchema.parse(budget);
}
