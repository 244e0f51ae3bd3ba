import { apiKeyRecordSchema, generateApiKey, keyLimitsSchema, MAX_STATUS_REASON_LENGTH, roleSchema, tenantNameSchema, type ApiKeyRecord, type KeyLimits, type Role } from '../../lib/core/api-key';
import { EXIT, UsageError, wholeNumberOption, type CliIo, type Command, type CommandGroup } from '../command';
import { resolveGovernanceDeployment, type GovernanceDeployment } from '../governance';
import { formatTable } from '../table';

/** The longest an old key keeps working after its rotation. */
const MAX_GRACE_MS = 365 * 86_400_000;

const REVOCATION_NOTE =
  'Gateways cache key records for KEY_CACHE_TTL_SECONDS (default 30 s): a revocation, suspension or\n' +
  'lift reaches every instance within that time.';

const text = (values: Record<string, string | boolean | undefined>, name: string): string | undefined =>
  typeof values[name] === 'string' ? (values[name] as string) : undefined;

const MAX_REQUESTS_PER_MINUTE = keyLimitsSchema.shape.requestsPerMinute.unwrap().maxValue ?? Number.MAX_SAFE_INTEGER;
const MAX_TOKENS_PER_MINUTE = keyLimitsSchema.shape.tokensPerMinute.unwrap().maxValue ?? Number.MAX_SAFE_INTEGER;

function limitsFrom(values: Record<string, string | boolean | undefined>): KeyLimits | undefined {
  const limits: KeyLimits = {};
  const rpmText = text(values, 'rpm');
  const tpmText = text(values, 'tpm');
  const rpm = rpmText === undefined ? undefined : wholeNumberOption(rpmText, '--rpm', MAX_REQUESTS_PER_MINUTE);
  const tpm = tpmText === undefined ? undefined : wholeNumberOption(tpmText, '--tpm', MAX_TOKENS_PER_MINUTE);
  if (rpm !== undefined) limits.requestsPerMinute = rpm;
  if (tpm !== undefined) limits.tokensPerMinute = tpm;
  const parsed = keyLimitsSchema.safeParse(limits);
  if (!parsed.success) throw new UsageError(`limits out of range: ${parsed.error.issues.map((issue) => issue.message).join('; ')}`);
  return Object.keys(limits).length === 0 ? undefined : limits;
}

function describeLimits(limits: KeyLimits | undefined): string {
  if (!limits) return '-';
  const parts = [];
  if (limits.requestsPerMinute !== undefined) parts.push(`${limits.requestsPerMinute} req/min`);
  if (limits.tokensPerMinute !== undefined) parts.push(`${limits.tokensPerMinute} tok/min`);
  return parts.join(', ') || '-';
}

function keysTable(records: readonly ApiKeyRecord[]): string {
  return formatTable(records, [
    { header: 'KEY ID', value: (r) => r.keyId },
    { header: 'TENANT', value: (r) => r.tenant },
    { header: 'STATUS', value: (r) => (r.expiresAt ? `${r.status} (expires ${r.expiresAt})` : r.status) },
    { header: 'ROLES', value: (r) => r.roles.join(',') },
    { header: 'ENDPOINTS', value: (r) => r.endpoints.join(',') || '-', maxWidth: 40 },
    { header: 'LIMITS', value: (r) => describeLimits(r.limits) },
    { header: 'NAME', value: (r) => r.name ?? '', maxWidth: 30 },
    { header: 'CREATED', value: (r) => r.createdAt.slice(0, 19).replace('T', ' ') },
  ]);
}

function describeKey(record: ApiKeyRecord): string {
  const lines = [
    `key ${record.keyId}`,
    `  tenant      ${record.tenant}`,
    `  status      ${record.status}${record.statusReason ? ` (${record.statusReason})` : ''}${record.statusChangedAt ? `, since ${record.statusChangedAt}` : ''}`,
    `  roles       ${record.roles.join(', ')}`,
    `  endpoints   ${record.endpoints.join(', ') || '(none)'}`,
    `  limits      ${describeLimits(record.limits)}`,
    `  created     ${record.createdAt}`,
  ];
  if (record.name) lines.push(`  name        ${record.name}`);
  if (record.suspendedByFinding) lines.push(`  suspended by abuse finding ${record.suspendedByFinding} (see modelgate abuse findings)`);
  if (record.rotatedTo) lines.push(`  rotated to  ${record.rotatedTo}${record.expiresAt ? `; works until ${record.expiresAt}` : ''}`);
  return `${lines.join('\n')}\n`;
}

function output(io: CliIo, json: boolean, value: unknown, human: string): void {
  io.stdout(json ? `${JSON.stringify(value, null, 2)}\n` : human);
}

async function requireKey(deployment: GovernanceDeployment, keyId: string, io: CliIo): Promise<ApiKeyRecord | undefined> {
  const record = await deployment.keys.get(keyId);
  if (!record) io.stderr(`No key ${keyId} in ${deployment.description}.\n`);
  return record;
}

const create: Command = {
  name: 'create',
  summary: 'Create an API key for a tenant; the secret is shown once, only its hash is stored',
  description:
    'Prints the secret on stdout (and only there: store it now, it cannot be shown again) and the\n' +
    'key\'s record on stderr. Limits hold across every gateway instance, in fixed one-minute windows.',
  options: {
    tenant: { type: 'string', valueName: 'tenant', description: 'the tenant the key belongs to (required)' },
    endpoints: { type: 'string', valueName: 'a,b | *', description: 'endpoints it may query (default *: all)' },
    roles: { type: 'string', valueName: 'roles', description: 'invoke, auditor, admin, comma-separated (default invoke)' },
    name: { type: 'string', valueName: 'label', description: 'a label for people ("ci pipeline")' },
    rpm: { type: 'string', valueName: 'n', description: 'requests per minute this key may send' },
    tpm: { type: 'string', valueName: 'n', description: 'tokens per minute this key may use (LLM endpoints)' },
  },
  examples: ['modelgate keys create --tenant acme --endpoints sentiment,iris --rpm 50', 'modelgate keys create --tenant security --roles auditor --endpoints "" --json'],
  async run({ values, json }, io) {
    const tenant = text(values, 'tenant');
    if (tenant === undefined) throw new UsageError('--tenant is required');
    const tenantName = tenantNameSchema.safeParse(tenant);
    if (!tenantName.success) throw new UsageError(`tenant "${tenant}" ${tenantName.error.issues[0]?.message}`);
    const roles = (text(values, 'roles') ?? 'invoke').split(',').map((role) => role.trim()).filter(Boolean);
    for (const role of roles) if (!roleSchema.safeParse(role).success) throw new UsageError(`unknown role "${role}"; roles are invoke, auditor, admin`);
    if (roles.length === 0) throw new UsageError('--roles needs at least one role');
    const endpointsText = text(values, 'endpoints') ?? '*';
    const endpoints = endpointsText.split(',').map((name) => name.trim()).filter(Boolean);
    const name = text(values, 'name');
    if (name !== undefined && !apiKeyRecordSchema.shape.name.safeParse(name).success) throw new UsageError('--name is at most 100 characters');
    const limits = limitsFrom(values);
    const deployment = resolveGovernanceDeployment(io.env, io.cwd);
    const known = new Set(deployment.config().endpoints.map((endpoint) => endpoint.name));
    const unknown = endpoints.filter((name) => name !== '*' && !known.has(name));
    if (unknown.length > 0) throw new UsageError(`no serving endpoint named ${unknown.join(', ')} (configured: ${[...known].join(', ')})`);
    const { apiKey, record } = generateApiKey({ tenant, roles: roles as Role[], endpoints, now: io.now(), name, limits });
    await deployment.keys.create(record);
    if (json) {
      io.stdout(`${JSON.stringify({ apiKey, record }, null, 2)}\n`);
    } else {
      io.stderr(`Created ${describeKey(record)}The secret is shown this once; only its hash is stored:\n`);
      io.stdout(`${apiKey}\n`);
    }
    return EXIT.ok;
  },
};

const list: Command = {
  name: 'list',
  summary: 'List keys (never their secrets), all or one tenant\'s',
  options: {
    tenant: { type: 'string', valueName: 'tenant', description: 'only this tenant\'s keys' },
    status: { type: 'string', valueName: 'status', description: 'only active, suspended or revoked keys' },
  },
  examples: ['modelgate keys list', 'modelgate keys list --tenant acme --status suspended'],
  async run({ values, json }, io) {
    const deployment = resolveGovernanceDeployment(io.env, io.cwd);
    const status = text(values, 'status');
    if (status !== undefined && !['active', 'suspended', 'revoked'].includes(status)) throw new UsageError('--status is active, suspended or revoked');
    const tenant = text(values, 'tenant');
    const records = (await deployment.keys.list(tenant === undefined ? {} : { tenant })).filter((record) => status === undefined || record.status === status);
    output(io, json, { keys: records }, records.length === 0 ? `No keys in ${deployment.description}.\n` : `${keysTable(records)}\n\n${records.length} key(s) in ${deployment.description}.\n`);
    return EXIT.ok;
  },
};

const show: Command = {
  name: 'show',
  summary: 'Show one key: tenant, status and why, grants, limits',
  positionals: [{ name: 'key-id', description: 'the key id (key_...)', required: true }],
  async run({ positionals, json }, io) {
    const deployment = resolveGovernanceDeployment(io.env, io.cwd);
    const record = await requireKey(deployment, positionals[0]!, io);
    if (!record) return EXIT.problem;
    output(io, json, { key: record }, describeKey(record));
    return EXIT.ok;
  },
};

function statusCommand(name: 'revoke' | 'suspend' | 'lift', summary: string, from: ApiKeyRecord['status'][], to: ApiKeyRecord['status']): Command {
  return {
    name,
    summary,
    description: REVOCATION_NOTE,
    positionals: [{ name: 'key-id', description: 'the key id (key_...)', required: true }],
    options: { reason: { type: 'string', valueName: 'text', description: 'why (kept on the key, shown by keys show)' } },
    async run({ positionals, values, json }, io) {
      const keyId = positionals[0]!;
      const reason = text(values, 'reason') ?? `${name === 'lift' ? 'lifted' : `${name}d`} by an admin`;
      // Checked before the write: a record the key store cannot read back would lock the key out of every command.
      if (reason.length > MAX_STATUS_REASON_LENGTH) throw new UsageError(`--reason is at most ${MAX_STATUS_REASON_LENGTH} characters`);
      const deployment = resolveGovernanceDeployment(io.env, io.cwd);
      const result = await deployment.keys.changeStatus(keyId, { from, to, reason, at: io.now() });
      if (!result) {
        io.stderr(`No key ${keyId} in ${deployment.description}.\n`);
        return EXIT.problem;
      }
      if (!result.changed) {
        io.stderr(`Key ${keyId} is ${result.record.status}; ${name} applies only to ${from.join(' or ')} keys.\n`);
        return EXIT.problem;
      }
      output(io, json, { key: result.record }, `${describeKey(result.record)}Every gateway instance sees this within its key cache TTL (KEY_CACHE_TTL_SECONDS, default 30 s).\n`);
      return EXIT.ok;
    },
  };
}

const rotate: Command = {
  name: 'rotate',
  summary: 'Replace a key by a new one with the same tenant, grants and limits; the new secret is shown once',
  description:
    'Without --grace the old key is revoked at once; with --grace it keeps working for that long\n' +
    '(e.g. 24h, 30m), so clients can switch over.',
  positionals: [{ name: 'key-id', description: 'the key to replace (key_...)', required: true }],
  options: { grace: { type: 'string', valueName: 'duration', description: 'how long the old key keeps working: 30m, 24h, 7d (default: not at all)' } },
  async run({ positionals, values, json }, io) {
    const grace = text(values, 'grace');
    let graceMs: number | undefined;
    if (grace !== undefined) {
      const match = /^(\d+)([mhd])$/.exec(grace);
      if (!match) throw new UsageError(`--grace is a duration such as 30m, 24h or 7d, not "${grace}"`);
      graceMs = Number(match[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 'm' | 'h' | 'd'];
      // Checked before anything is created: past a year it is no grace period, and past what a
      // date holds the old key could no longer be read or listed.
      if (graceMs > MAX_GRACE_MS) throw new UsageError(`--grace is at most ${MAX_GRACE_MS / 86_400_000}d, not "${grace}"`);
    }
    const deployment = resolveGovernanceDeployment(io.env, io.cwd);
    const old = await requireKey(deployment, positionals[0]!, io);
    if (!old) return EXIT.problem;
    if (old.status !== 'active') {
      io.stderr(`Key ${old.keyId} is ${old.status}; only an active key is rotated (create a new one instead).\n`);
      return EXIT.problem;
    }
    if (old.rotatedTo !== undefined) {
      io.stderr(`Key ${old.keyId} was already rotated to ${old.rotatedTo}; rotate that key instead.\n`);
      return EXIT.problem;
    }
    const now = io.now();
    const { apiKey, record } = generateApiKey({ tenant: old.tenant, roles: [...old.roles], endpoints: [...old.endpoints], now, name: old.name, limits: old.limits });
    await deployment.keys.create(record);
    const replaced = await deployment.keys.markRotated(old.keyId, { rotatedTo: record.keyId, at: now, ...(graceMs === undefined ? {} : { expiresAt: new Date(now.getTime() + graceMs) }) });
    if (replaced === undefined) {
      // Suspended or revoked since it was read: the replacement must not outlive it.
      await deployment.keys.changeStatus(record.keyId, { from: ['active'], to: 'revoked', reason: `replaced ${old.keyId}, which changed status during the rotation`, at: now });
      const current = await deployment.keys.get(old.keyId);
      io.stderr(`Key ${old.keyId} became ${current?.status ?? 'unknown'}${current?.rotatedTo ? `, rotated to ${current.rotatedTo},` : ''} while it was being rotated; it was left so, and its replacement ${record.keyId} revoked.\n`);
      return EXIT.problem;
    }
    if (json) {
      io.stdout(`${JSON.stringify({ apiKey, record, replaced }, null, 2)}\n`);
    } else {
      io.stderr(`Created ${describeKey(record)}${replaced?.expiresAt ? `The old key ${old.keyId} works until ${replaced.expiresAt}.` : `The old key ${old.keyId} is revoked.`}\nThe new secret is shown this once:\n`);
      io.stdout(`${apiKey}\n`);
    }
    return EXIT.ok;
  },
};

const limits: Command = {
  name: 'limits',
  summary: 'Set or clear a key\'s own rate limits',
  positionals: [{ name: 'key-id', description: 'the key id (key_...)', required: true }],
  options: {
    rpm: { type: 'string', valueName: 'n', description: 'requests per minute' },
    tpm: { type: 'string', valueName: 'n', description: 'tokens per minute' },
    clear: { type: 'boolean', description: 'remove the key\'s limits' },
  },
  examples: ['modelgate keys limits key_0123456789abcdef --rpm 100 --tpm 50000', 'modelgate keys limits key_0123456789abcdef --clear'],
  async run({ positionals, values, json }, io) {
    const next = values.clear === true ? undefined : limitsFrom(values);
    if (values.clear !== true && next === undefined) throw new UsageError('give --rpm and/or --tpm, or --clear');
    const deployment = resolveGovernanceDeployment(io.env, io.cwd);
    const record = await deployment.keys.setLimits(positionals[0]!, next);
    if (!record) {
      io.stderr(`No key ${positionals[0]} in ${deployment.description}.\n`);
      return EXIT.problem;
    }
    output(io, json, { key: record }, describeKey(record));
    return EXIT.ok;
  },
};

export const keysCommands: CommandGroup = {
  name: 'keys',
  summary: 'API keys: create, list, rotate, revoke, suspend and lift; per-key limits',
  description: `Only a key's SHA-256 is stored; the secret is shown once, when it is created.\n${REVOCATION_NOTE}`,
  commands: [
    create,
    list,
    show,
    rotate,
    statusCommand('revoke', 'Revoke a key for good (it is refused with 403 from then on)', ['active', 'suspended'], 'revoked'),
    statusCommand('suspend', 'Suspend a key (403) until it is lifted', ['active'], 'suspended'),
    statusCommand('lift', 'Lift a suspension (an admin\'s or an abuse rule\'s): the key works again', ['suspended'], 'active'),
    limits,
  ],
};
