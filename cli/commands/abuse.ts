import { parseTimeBound } from '../../lib/core/audit-log/time-bound';
import { abuseFindingSchema, type AbuseFinding } from '../../lib/core/abuse/abuse-finding';
import { EXIT, UsageError, type Command, type CommandGroup } from '../command';
import { resolveGovernanceDeployment } from '../governance';
import { formatTable } from '../table';

const text = (values: Record<string, string | boolean | undefined>, name: string): string | undefined =>
  typeof values[name] === 'string' ? (values[name] as string) : undefined;
const MAX_DAYS = 90;

const findings: Command = {
  name: 'findings',
  summary: 'Abuse findings for the security team: which rule fired, for whom, and what was done',
  description:
    'Rules (abuse in the endpoint config): rateSpike (a key against its own baseline), authFailures\n' +
    '(401s per client IP: key guessing; 403s per key: probing), badRequests (400/413), contentFlags\n' +
    '(guardrail pattern matches). A suspended key is lifted with "modelgate keys lift <key-id>".\n' +
    'Times as for audit search: a day, an ISO time, a time ago (90m, 6h, 7d) or now. Default: the last 7 days.',
  options: {
    from: { type: 'string', valueName: 'time', description: 'findings whose window started at or after this time' },
    to: { type: 'string', valueName: 'time', description: 'and before this time (default now)' },
    rule: { type: 'string', valueName: 'rule', description: 'only this rule (rateSpike, authFailures, badRequests, contentFlags)' },
    subject: { type: 'string', valueName: 'key-id | ip | tenant', description: 'only findings about this key, client IP, or tenant (its queue producers)' },
    tenant: { type: 'string', valueName: 'tenant', description: 'only this tenant' },
  },
  examples: ['modelgate abuse findings', 'modelgate abuse findings --from 24h --rule authFailures --json'],
  async run({ values, json }, io) {
    const now = io.now();
    let from: Date;
    let to: Date;
    try {
      from = parseTimeBound(text(values, 'from') ?? '7d', 'start', now);
      to = parseTimeBound(text(values, 'to') ?? 'now', 'end', now);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    if (to <= from) throw new UsageError('--to must be after --from');
    const rules = abuseFindingSchema.shape.rule.options;
    const rule = text(values, 'rule');
    if (rule !== undefined && !(rules as readonly string[]).includes(rule)) throw new UsageError(`--rule is one of ${rules.join(', ')}, not "${rule}"`);
    if (to.getTime() - from.getTime() > MAX_DAYS * 86_400_000) throw new UsageError(`at most ${MAX_DAYS} days at a time`);
    const deployment = resolveGovernanceDeployment(io.env, io.cwd);
    const subject = text(values, 'subject');
    const tenant = text(values, 'tenant');
    const found = (await deployment.abuse.listFindings({ from, to })).filter(
      (finding) => (rule === undefined || finding.rule === rule) && (subject === undefined || finding.subject.id === subject) && (tenant === undefined || finding.tenant === tenant),
    );
    if (json) {
      io.stdout(`${JSON.stringify({ from: from.toISOString(), to: to.toISOString(), findings: found }, null, 2)}\n`);
      return EXIT.ok;
    }
    io.stdout(`Abuse findings ${from.toISOString()} to ${to.toISOString()} in ${deployment.description}\n\n`);
    if (found.length === 0) {
      io.stdout('None.\n');
      return EXIT.ok;
    }
    io.stdout(
      `${formatTable<AbuseFinding>(found, [
        { header: 'WINDOW', value: (f) => f.windowStart.slice(0, 16).replace('T', ' ') },
        { header: 'RULE', value: (f) => f.rule },
        { header: 'SUBJECT', value: (f) => `${f.subject.kind} ${f.subject.id}` },
        { header: 'TENANT', value: (f) => f.tenant ?? '-' },
        { header: 'SEEN', value: (f) => String(f.observed), right: true },
        { header: 'LIMIT', value: (f) => String(f.threshold), right: true },
        { header: 'ACTION', value: (f) => f.actionTaken ?? `${f.action} (pending)` },
        { header: 'DETAIL', value: (f) => f.detail, maxWidth: 70 },
      ])}\n\n${found.length} finding(s). Sample request ids are in --json; look them up with modelgate audit show <id>.\n`,
    );
    return EXIT.ok;
  },
};

export const abuseCommands: CommandGroup = {
  name: 'abuse',
  summary: 'Abuse findings from the usage stream (and the keys they suspended)',
  commands: [findings],
};
