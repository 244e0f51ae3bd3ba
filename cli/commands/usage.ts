import { formatMoney } from '../../lib/core/money';
import { buildUsageReport, type InvoiceLine, type UsageReport } from '../../lib/core/usage/usage-report';
import { EXIT, UsageError, type Command, type CommandGroup } from '../command';
import { resolveGovernanceDeployment } from '../governance';
import { formatTable } from '../table';

const text = (values: Record<string, string | boolean | undefined>, name: string): string | undefined =>
  typeof values[name] === 'string' ? (values[name] as string) : undefined;

const CSV_COLUMNS: Array<[string, (line: InvoiceLine, report: UsageReport) => string | number]> = [
  ['month', (l) => l.month],
  ['tenant', (l) => l.tenant],
  ['endpoint', (l) => l.endpoint],
  ['served_entity', (l) => l.servedEntity],
  ['unit', (l) => l.unit],
  ['requests', (l) => l.requests],
  ['errors', (l) => l.errors],
  ['billable_requests', (l) => l.billable],
  ['input_units', (l) => l.inputUnits],
  ['output_units', (l) => l.outputUnits],
  ['estimated_requests', (l) => l.estimated],
  ['latency_p50_ms', (l) => l.latencyP50Ms ?? ''],
  ['latency_p95_ms', (l) => l.latencyP95Ms ?? ''],
  ['latency_p99_ms', (l) => l.latencyP99Ms ?? ''],
  ['cost', (l) => formatMoney(l.costNanos, 9)],
  ['currency', (_l, r) => r.currency],
];

function csvCell(value: string | number): string {
  const cell = String(value);
  return /[",\n]/.test(cell) ? `"${cell.replaceAll('"', '""')}"` : cell;
}

/** The report as CSV, one invoice line per row (costs to the nano, for exact reconciliation). */
export function usageReportCsv(report: UsageReport): string {
  const rows = [CSV_COLUMNS.map(([name]) => name).join(',')];
  for (const line of report.lines) rows.push(CSV_COLUMNS.map(([, value]) => csvCell(value(line, report))).join(','));
  return `${rows.join('\n')}\n`;
}

function usageReportTable(report: UsageReport, where: string): string {
  if (report.lines.length === 0) return `No usage in ${report.month} in ${where}.\n`;
  const ms = (value: number | null) => (value === null ? '-' : value.toFixed(0));
  const table = formatTable(report.lines, [
    { header: 'TENANT', value: (l) => l.tenant },
    { header: 'ENDPOINT', value: (l) => l.endpoint },
    { header: 'SERVED ENTITY', value: (l) => l.servedEntity },
    { header: 'REQUESTS', value: (l) => String(l.requests), right: true },
    { header: 'ERRORS', value: (l) => String(l.errors), right: true },
    { header: 'INPUT', value: (l) => `${l.inputUnits} ${l.unit === 'tokens' ? 'tok' : 'rows'}`, right: true },
    { header: 'OUTPUT', value: (l) => (l.unit === 'tokens' ? `${l.outputUnits} tok` : '-'), right: true },
    { header: 'P50 MS', value: (l) => ms(l.latencyP50Ms), right: true },
    { header: 'P95 MS', value: (l) => ms(l.latencyP95Ms), right: true },
    { header: 'P99 MS', value: (l) => ms(l.latencyP99Ms), right: true },
    { header: `COST ${report.currency}`, value: (l) => formatMoney(l.costNanos, 6), right: true },
  ]);
  const totals = report.totals.map((total) => `  ${total.tenant}: ${total.requests} requests (${total.errors} errors), ${formatMoney(total.costNanos, 6)} ${report.currency}`);
  return `Usage in ${report.month} (UTC) in ${where}\n\n${table}\n\nTotal per tenant:\n${totals.join('\n')}\n\nLatency percentiles are approximate (histogram buckets 10% wide: at most 10% above the true value).\nAmounts are each rounded to 6 decimals, so lines may not add up to the total to the last digit; --format csv or json has them exact.\n`;
}

const report: Command = {
  name: 'report',
  summary: 'A month\'s invoice lines: requests, errors, units, latency percentiles and cost per tenant, endpoint and served entity',
  description:
    'Built from the hourly aggregates the usage aggregator keeps (each request counted once, however\n' +
    'often its usage event was delivered). Refused and failed requests are counted but cost nothing;\n' +
    'answered requests (and streams the caller cut short) are priced from the config\'s price table.',
  options: {
    month: { type: 'string', valueName: 'YYYY-MM', description: 'the calendar month, UTC (required)' },
    tenant: { type: 'string', valueName: 'tenant', description: 'only this tenant' },
    format: { type: 'string', valueName: 'table|csv|json', description: 'output format (default table)' },
  },
  examples: ['modelgate usage report --month 2026-11', 'modelgate usage report --month 2026-11 --tenant acme --format csv > acme-2026-11.csv'],
  async run({ values, json }, io) {
    const month = text(values, 'month');
    if (month === undefined || !/^\d{4}-(0[1-9]|1[0-2])$/.test(month)) throw new UsageError('--month YYYY-MM is required (e.g. 2026-11)');
    const format = json ? 'json' : (text(values, 'format') ?? 'table');
    if (!['table', 'csv', 'json'].includes(format)) throw new UsageError('--format is table, csv or json');
    const deployment = resolveGovernanceDeployment(io.env, io.cwd);
    const tenant = text(values, 'tenant');
    const tenants = tenant === undefined ? await deployment.ledger.tenantsOf(month) : [tenant];
    const rows = (await Promise.all(tenants.map((name) => deployment.ledger.monthRows(name, month)))).flat();
    const built = buildUsageReport(month, deployment.config().pricing.currency, rows);
    if (format === 'json') {
      io.stdout(`${JSON.stringify({ ...built, lines: built.lines.map((line) => ({ ...line, cost: formatMoney(line.costNanos, 9) })), totals: built.totals.map((total) => ({ ...total, cost: formatMoney(total.costNanos, 9) })) }, null, 2)}\n`);
    } else if (format === 'csv') {
      io.stdout(usageReportCsv(built));
    } else {
      io.stdout(usageReportTable(built, deployment.description));
    }
    return EXIT.ok;
  },
};

export const usageCommands: CommandGroup = {
  name: 'usage',
  summary: 'Usage and billing: monthly invoice lines per tenant',
  commands: [report],
};
