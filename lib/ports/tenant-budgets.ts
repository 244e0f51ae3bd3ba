import type { TenantBudget } from '../core/limits/tenant-budget';

/** Tenants' monthly budgets, as the gateway reads them (cached; changes apply within the cache TTL). */
export interface TenantBudgets {
  budgetOf(tenant: string): Promise<TenantBudget | undefined>;
}

/** What an admin does with budgets (the CLI). */
export interface TenantBudgetAdmin extends TenantBudgets {
  setBudget(budget: TenantBudget): Promise<void>;
  removeBudget(tenant: string): Promise<void>;
  list(): Promise<TenantBudget[]>;
}
