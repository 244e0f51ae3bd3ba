import { monthWindow, tenantCostCounter } from '../../lib/core/limits/limit-windows';
import { formatMoney, parseMoney } from '../../lib/core/money';
import { tenantNameSchema } from '../../lib/core/api-key';
import { EXIT, UsageError, type Command, type CommandGroup } from '../command';
import { resolveGovernanceDeployment } from '../governance';
import { formatTable } from '../table';

const text = (values: Record<string, string | boolean | undefined>, name: string): string | undefined =>
  typeof values[name] === 'string' ? (values[name] as string) : undefined;

const set: Command = {
  name: 'set',
  summary: 'Set a tenant\'s monthly budget, in the price table\'s currency',
  description:
    'Each request reserves its most expensive possible cost before it is served and settles to its\n' +
    'real cost after, so concurrent requests cannot overshoot the budget by more than one request\'s\n' +
    'reservation. Once it is spent the tenant is refused (429 BUDGET_EXHAUSTED) until the month ends.',
  options: {
    tenant: { type: 'string', valueName: 'tenant', description: 'the tenant (required)' },
    monthly: { type: 'string', valueName: 'amount', description: 'the budget per calendar month (UTC), e.g. 250 or 19.99 (required)' },
  },
  examples: ['modelgate budgets set --tenant acme --monthly 250'],
  async run({ values, json }, io) {
    const tenant = text(values, 'tenant');
    const monthly = text(values, 'monthly');
    if (tenant === undefined || monthly === undefined) throw new UsageError('--tenant and --monthly are required');
    if (!tenantNameSchema.safeParse(tenant).success) throw new UsageError(`"${tenant}" is not a tenant name`);
    let nanos: number;
    try {
      nanos = parseMoney(monthly);
    } catch (error) {
      throw new UsageError(`--monthly: ${(error as Error).message}`);
    }
    const deployment = resolveGovernanceDeployment(io.env, io.cwd);
    const currency = deployment.config().pricing.currency;
    const budget = { tenant, monthlyBudgetNanos: nanos, currency, updatedAt: io.now().toISOString() };
    await deployment.budgets.setBudget(budget);
    // Gateways count spend on the budget only while one exists: what the tenant spent this month
    // before (on the bill) is added now, so a budget set mid-month holds the whole month's spend.
    const month = monthWindow(io.now());
    const counter = tenantCostCounter(tenant, month.label);
    const billed = (await deployment.ledger.monthRows(tenant, month.label)).reduce((sum, row) => sum + row.costNanos, 0);
    const counted = (await deployment.counters.read([counter])).get(counter) ?? 0;
    if (billed > counted) await deployment.counters.adjust([{ counter, delta: billed - counted, windowEndsAt: month.endsAt }]);
    io.stdout(json ? `${JSON.stringify({ budget }, null, 2)}\n` : `Tenant ${tenant}: ${formatMoney(nanos, 2)} ${currency} a month. Gateways apply it within their cache TTL (KEY_CACHE_TTL_SECONDS).\n`);
    return EXIT.ok;
  },
};

const list: Command = {
  name: 'list',
  summary: 'Tenants\' budgets and what is committed this month (spent plus held by requests in flight)',
  async run({ json }, io) {
    const deployment = resolveGovernanceDeployment(io.env, io.cwd);
    const budgets = await deployment.budgets.list();
    const month = monthWindow(io.now()).label;
    const counters = await deployment.counters.read(budgets.map((budget) => tenantCostCounter(budget.tenant, month)));
    const priceCurrency = deployment.config().pricing.currency;
    const rows = budgets.map((budget) => ({
      ...budget,
      month,
      committedNanos: counters.get(tenantCostCounter(budget.tenant, month)) ?? 0,
      // A budget in another currency than the prices cannot cap them: gateways refuse its tenant's requests (503).
      inPriceCurrency: budget.currency === priceCurrency,
    }));
    if (json) {
      io.stdout(`${JSON.stringify({ budgets: rows }, null, 2)}\n`);
      return EXIT.ok;
    }
    if (rows.length === 0) {
      io.stdout(`No budgets in ${deployment.description}: no tenant is capped.\n`);
      return EXIT.ok;
    }
    io.stdout(
      `${formatTable(rows, [
        { header: 'TENANT', value: (r) => r.tenant },
        { header: 'MONTHLY', value: (r) => `${formatMoney(r.monthlyBudgetNanos, 2)} ${r.currency}`, right: true },
        { header: `COMMITTED ${month}`, value: (r) => formatMoney(r.committedNanos, 6), right: true },
        { header: 'LEFT', value: (r) => formatMoney(Math.max(0, r.monthlyBudgetNanos - r.committedNanos), 6), right: true },
        { header: 'UPDATED', value: (r) => r.updatedAt.slice(0, 19).replace('T', ' ') },
      ])}\n`,
    );
    const stale = rows.filter((row) => !row.inPriceCurrency);
    if (stale.length > 0) {
      io.stdout(
        `Prices are in ${priceCurrency}; these budgets are not, so gateways refuse their tenants' requests (503 LIMITS_UNAVAILABLE) ` +
          `until each is set again with budgets set: ${stale.map((row) => `${row.tenant} (${row.currency})`).join(', ')}\n`,
      );
    }
    return EXIT.ok;
  },
};

const remove: Command = {
  name: 'remove',
  summary: 'Remove a tenant\'s budget (it is no longer capped)',
  options: { tenant: { type: 'string', valueName: 'tenant', description: 'the tenant (required)' } },
  async run({ values, json }, io) {
    const tenant = text(values, 'tenant');
    if (tenant === undefined) throw new UsageError('--tenant is required');
    const deployment = resolveGovernanceDeployment(io.env, io.cwd);
    await deployment.budgets.removeBudget(tenant);
    io.stdout(json ? `${JSON.stringify({ removed: tenant })}\n` : `Tenant ${tenant} has no budget now.\n`);
    return EXIT.ok;
  },
};

export const budgetsCommands: CommandGroup = {
  name: 'budgets',
  summary: 'Tenants\' monthly budgets, enforced across the fleet',
  commands: [set, list, remove],
};
