import { isRequestId } from '../../lib/core/audit-log/layout';
import { parseAuditSearchParams } from '../../lib/core/audit-log/search-params';
import { findAuditRecord, resolveBodyRefs, searchAuditLog } from '../../lib/core/audit-log/search';
import { DAY, parseTimeRange } from '../../lib/core/audit-log/time-bound';
import { verifyAuditLog, type VerifyReport } from '../../lib/core/audit-log/verify';
import type { AuditedBody, AuditRecord } from '../../lib/core/audit-record';
import { InvalidRequestError } from '../../lib/core/errors';
import { recordAuditRead } from '../audited-read';
import { EXIT, UsageError, wholeNumberOption, type Command, type CommandGroup } from '../command';
import { resolveAuditDeployment } from '../deployment';
import { formatTable, printable } from '../table';

/** The CLI reads the bucket directly, so it may cover more than the API's 7 days per search. */
const CLI_SEARCH_MAX_DAYS = 31;

const show: Command = {
  name: 'show',
  summary: 'Show one request\'s audit record: who sent what to which model, and what came back',
  description:
    'Request ids are time-ordered (UUIDv7): the id names the hour partition, and the batch object\n' +
    'names in it say which object holds the id, so one lookup reads one listing and one object.',
  positionals: [{ name: 'request-id', description: 'the x-request-id of the request (or request_id of an error)', required: true }],
  examples: ['modelgate audit show 019a5a7c-3f1e-7b2a-9c4d-5e6f7a8b9c0d', 'modelgate audit show 019a5a7c-3f1e-7b2a-9c4d-5e6f7a8b9c0d --json'],
  async run({ positionals, json }, io) {
    const requestId = positionals[0]!.toLowerCase();
    if (!isRequestId(requestId)) throw new UsageError(`${positionals[0]} is not a request id (a UUIDv7 such as 019a5a7c-3f1e-7b2a-9c4d-5e6f7a8b9c0d)`);
    const startedAt = performance.now();
    const deployment = resolveAuditDeployment(io.env, io.cwd);
    const found = await findAuditRecord(deployment.store, requestId);
    await recordAuditRead(deployment, {
      command: 'audit show',
      asked: { requestId },
      summary: { returned: found ? 1 : 0, requestIds: found ? [requestId] : [] },
      status: found ? 200 : 404,
      startedAt,
      now: io.now(),
    });
    if (!found) {
      io.stderr(`No audit record for request ${requestId} in ${deployment.description}.\n`);
      return EXIT.problem;
    }
    const record = await resolveBodyRefs(deployment.store, found.record);
    if (json) io.stdout(`${JSON.stringify({ record, location: { objectKey: found.objectKey, line: found.line } }, null, 2)}\n`);
    else io.stdout(describeRecord(record, `${found.objectKey}, line ${found.line}`));
    return EXIT.ok;
  },
};

const search: Command = {
  name: 'search',
  summary: 'Find audit records by time, tenant, key, endpoint, status or text',
  description:
    'Times are a day (2026-11-21: from its start, or to its end), an ISO time with a zone\n' +
    '(2026-11-21T09:30:00Z), a time ago (90m, 6h, 7d) or now. Without --from/--to: the last 24 hours.\n' +
    `Oldest first, at most --limit records; "--after <next>" continues. Up to ${CLI_SEARCH_MAX_DAYS} days per search.`,
  options: {
    day: { type: 'string', valueName: 'YYYY-MM-DD', description: 'one whole day (UTC); instead of --from/--to' },
    from: { type: 'string', valueName: 'time', description: 'from this time (inclusive)' },
    to: { type: 'string', valueName: 'time', description: 'to this time (exclusive; a day means its end)' },
    tenant: { type: 'string', valueName: 'tenant', description: 'only this tenant' },
    key: { type: 'string', valueName: 'key-id', description: 'only this API key id (key_...)' },
    endpoint: { type: 'string', valueName: 'name', description: 'only this serving endpoint' },
    status: { type: 'string', valueName: 'status', description: 'an HTTP status (403) or class (4xx, 5xx)' },
    text: { type: 'string', valueName: 'text', description: 'records containing this text anywhere (bodies included; case-insensitive)' },
    kind: { type: 'string', valueName: 'kind', description: 'invocation, async-invocation, async-submission or audit-read' },
    limit: { type: 'string', valueName: 'n', description: 'at most n records (1-1000, default 100)' },
    after: { type: 'string', valueName: 'request-id', description: 'continue after this record (the "next" of the previous page)' },
  },
  examples: [
    'modelgate audit search --day 2026-11-21 --tenant acme',
    'modelgate audit search --from 6h --status 4xx --endpoint sentiment',
    'modelgate audit search --day 2026-11-21 --text "refund" --json',
  ],
  async run({ values, json }, io) {
    const now = io.now();
    const text = (name: string) => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
    if (text('day') !== undefined && (text('from') !== undefined || text('to') !== undefined)) throw new UsageError('use --day or --from/--to, not both');
    const day = text('day');
    if (day !== undefined && !DAY.test(day)) throw new UsageError(`--day takes a day (2026-11-21), not "${day}"; use --from for a time ago`);
    const params: Record<string, string | undefined> = {
      from: day ?? text('from'),
      to: day ?? text('to'),
      tenant: text('tenant'),
      key: text('key'),
      endpoint: text('endpoint'),
      status: text('status'),
      text: text('text'),
      kind: text('kind'),
      limit: text('limit'),
      after: text('after'),
    };
    for (const name of Object.keys(params)) if (params[name] === undefined) delete params[name];
    const query = asUsage(() => parseAuditSearchParams(params, now, CLI_SEARCH_MAX_DAYS));
    const startedAt = performance.now();
    const deployment = resolveAuditDeployment(io.env, io.cwd);
    const result = await searchAuditLog(deployment.store, query);
    await recordAuditRead(deployment, {
      command: 'audit search',
      asked: { ...params, from: query.from.toISOString(), to: query.to.toISOString() },
      summary: { returned: result.records.length, requestIds: result.records.map((record) => record.requestId), next: result.next },
      startedAt,
      now,
    });
    if (json) {
      io.stdout(`${JSON.stringify(result, null, 2)}\n`);
      return EXIT.ok;
    }
    io.stdout(`Audit records ${query.from.toISOString()} to ${query.to.toISOString()} in ${deployment.description}\n\n`);
    if (result.records.length === 0) io.stdout('No records match.\n');
    else io.stdout(`${recordsTable(result.records)}\n`);
    io.stdout(`\n${result.records.length} record(s); read ${result.scanned.objects} batch object(s), ${result.scanned.records} record(s).\n`);
    if (result.next) io.stdout(`More may match: add --after ${result.next}\n`);
    return EXIT.ok;
  },
};

/** Bounds that only catch typing mistakes: a year between digests, a century of retention. */
const MAX_DIGEST_EVERY_MINUTES = 525_600;
const MAX_RETENTION_DAYS = 36_500;

const verify: Command = {
  name: 'verify',
  summary: 'Prove a period of the audit log was not changed: no record altered, removed or added',
  description:
    'Checks every digest\'s signature and its link to the previous digest, the chain of batches, every\n' +
    'batch object against its chain entry and every record against its hash. Names the first bad object\n' +
    'and record; exits 1 when anything is wrong. Batches newer than the last digest are checked against\n' +
    'the chain only (digests are signed hourly in AWS, every minute locally). A digest is signed every\n' +
    'period, records or none: a newest digest older than --digest-every (and 15 minutes\' grace) means\n' +
    'the digests after it, and maybe the end of the log, were removed.',
  positionals: [
    { name: 'from', description: 'a day (2026-11-21), an ISO time with a zone, or a time ago (24h)', required: true },
    { name: 'to', description: 'end of the period (a day means its end); default: the end of <from> if a day, else now', required: false },
  ],
  options: {
    'public-key': { type: 'string', valueName: 'pem file', description: 'the signing key\'s public half (default: KMS, or the local stack\'s key)' },
    'digest-every': { type: 'string', valueName: 'minutes', description: 'how often the deployment signs a digest (its auditDigestSchedule; default 60)' },
    'retention-days': { type: 'string', valueName: 'days', description: 'how long the audit bucket keeps objects (its auditRetentionDays; default 30)' },
  },
  examples: ['modelgate audit verify 2026-11-21', 'modelgate audit verify 2026-11-01 2026-11-21', 'modelgate audit verify 24h --json'],
  async run({ positionals, values, json }, io) {
    const now = io.now();
    const [fromText, toText] = positionals as [string, string | undefined];
    const to = toText ?? (DAY.test(fromText) ? fromText : 'now');
    const range = asUsage(() => parseTimeRange({ from: fromText, to }, now, CLI_SEARCH_MAX_DAYS));
    if (range.from.getTime() >= now.getTime()) throw new UsageError(`the period starts at ${range.from.toISOString()}, after now: nothing can have been logged yet`);
    const digestEveryMinutes = typeof values['digest-every'] === 'string' ? wholeNumberOption(values['digest-every'], '--digest-every (minutes)', MAX_DIGEST_EVERY_MINUTES) : 60;
    const retentionDays = typeof values['retention-days'] === 'string' ? wholeNumberOption(values['retention-days'], '--retention-days', MAX_RETENTION_DAYS) : 30;
    const startedAt = performance.now();
    const deployment = resolveAuditDeployment(io.env, io.cwd);
    const { publicKey, keyId } = await deployment.signingKey(typeof values['public-key'] === 'string' ? values['public-key'] : undefined);
    const report = await verifyAuditLog(deployment.store, { ...range, publicKey, ...(keyId ? { keyId } : {}), digestEveryMs: digestEveryMinutes * 60_000, retentionDays, now });
    // "OK" says something was verified: a period no digest or batch covers proves nothing. The
    // JSON's ok, the read's summary and the exit code say the same.
    const verifiedSomething = !nothingVerified(report);
    const ok = report.ok && verifiedSomething;
    await recordAuditRead(deployment, {
      command: 'audit verify',
      asked: { from: range.from.toISOString(), to: range.to.toISOString() },
      summary: { returned: report.records.checked, ok, findings: report.findings.length },
      startedAt,
      now,
    });
    if (json) io.stdout(`${JSON.stringify({ ...report, ok, verifiedSomething }, null, 2)}\n`);
    else io.stdout(describeReport(report, deployment.description));
    return ok ? EXIT.ok : EXIT.problem;
  },
};

/** `modelgate audit ...`: the security team's view of the audit log. */
export const auditCommands: CommandGroup = {
  name: 'audit',
  summary: 'search, show and verify the audit log (every read is itself audited)',
  description: [
    'Where the audit log is:',
    '  local stack     MODELGATE_HOME/stack.json (default .modelgate/), written by "npm start"',
    '  deployed stack  AUDIT_BUCKET, AUDIT_READS_QUEUE_URL, AUDIT_SIGNING_KEY_ID (stack outputs AuditBucketName,',
    '                  AuditReadsQueueUrl, AuditSigningKeyArn), AWS_REGION and the usual AWS credentials, with',
    '                  the modelgate-<stage>-auditor policy (stack output AuditorPolicyArn).',
    'Every read is recorded in the audit log (kind "audit-read"); a read that cannot be recorded is not shown.',
  ].join('\n'),
  commands: [search, show, verify],
};

function asUsage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof InvalidRequestError) throw new UsageError(error.message);
    throw error;
  }
}

function recordsTable(records: readonly AuditRecord[]): string {
  return formatTable(records, [
    { header: 'TIME (UTC)', value: (r) => r.time.replace('T', ' ').replace(/\.\d+Z$/, '') },
    { header: 'REQUEST ID', value: (r) => r.requestId },
    { header: 'TENANT', value: (r) => r.tenant ?? '-', maxWidth: 16 },
    { header: 'KEY', value: (r) => r.keyId ?? '-', maxWidth: 24 },
    { header: 'ENDPOINT', value: (r) => (r.kind === 'audit-read' ? `${r.endpoint} (read)` : r.kind === 'invocation' ? r.endpoint : `${r.endpoint} (async)`), maxWidth: 28 },
    { header: 'SERVED BY', value: (r) => r.servedEntity ?? '-', maxWidth: 20 },
    { header: 'STATUS', value: (r) => String(r.status), right: true },
    { header: 'ERROR', value: (r) => r.errorCode ?? '', maxWidth: 24 },
    { header: 'MS', value: (r) => r.latencyMs.toFixed(1), right: true },
  ]);
}

function describeRecord(record: AuditRecord, location: string): string {
  const detected = record.redaction
    ? Object.entries(record.redaction.detected)
        .map(([kind, count]) => `${kind} x${count}`)
        .join(', ')
    : '';
  const rows: Array<[string, string]> = [
    ['time', record.time],
    ['kind', record.kind],
    ['tenant', record.tenant ?? '-'],
    ['key', record.keyId ?? '-'],
    ['endpoint', record.servedEntity ? `${record.endpoint} -> ${record.servedEntity}` : record.endpoint],
    ['status', record.errorCode ? `${record.status} ${record.errorCode}` : String(record.status)],
    ...(record.errorMessage ? ([['reason', record.errorMessage]] as Array<[string, string]>) : []),
    ['latency', `${record.latencyMs} ms${record.backendLatencyMs !== null ? ` (model ${record.backendLatencyMs} ms)` : ''}`],
    ['client', `${record.client.ip ?? '-'}  ${record.client.userAgent ?? ''}`.trimEnd()],
    ...(record.redaction
      ? ([['redacted', `${record.redaction.masked} masked, ${record.redaction.dropped} dropped by policy${detected ? `; detected ${detected}` : ''}`]] as Array<[string, string]>)
      : []),
    ['stored in', location],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  return [
    `Request ${record.requestId}`,
    ...rows.map(([label, value]) => `  ${label.padEnd(width)}  ${printable(value)}`),
    '',
    ...describeBody('Request body', record.request),
    ...describeBody('Response body', record.response),
  ].join('\n');
}

function describeBody(title: string, audited: AuditedBody & { error?: string }): string[] {
  const lines = [`${title} (${audited.bytes} bytes${audited.ref ? `, stored by reference: ${audited.ref.s3Key}` : ''})`];
  if (audited.error) lines.push(`  ${audited.error}`);
  else if (audited.body === undefined) lines.push(audited.truncated ? '  (too large to keep)' : '  (not kept: removed by the endpoint\'s redaction policy)');
  else lines.push(...JSON.stringify(audited.body, null, 2).split('\n').map((line) => `  ${printable(line)}`));
  lines.push('');
  return lines;
}

function describeReport(report: VerifyReport, where: string): string {
  const lines = [
    `Verified the audit log of ${report.from} to ${report.to} in ${where}`,
    `  digests   ${report.digests.checked} read, ${report.digests.validSignatures} with a valid signature${report.digests.lastDigestKey ? `; last ${report.digests.lastDigestKey}` : ''}`,
    `  batches   ${report.batches.checked} (${report.batches.signed} signed, ${report.batches.unsigned} newer than the last digest, checked by the chain only)`,
    `  records   ${report.records.checked}`,
    '',
  ];
  if (report.findings.length > 0) {
    lines.push(
      formatTable(report.findings, [
        { header: 'SEVERITY', value: (f) => f.severity },
        { header: 'WHAT', value: (f) => f.kind },
        { header: 'OBJECT', value: (f) => f.objectKey },
        { header: 'LINE', value: (f) => (f.line === undefined ? '' : String(f.line)), right: true },
        { header: 'DETAIL', value: (f) => f.message },
      ]),
      '',
    );
  }
  if (report.firstProblem) {
    const first = report.firstProblem;
    lines.push(`FAILED. First problem: ${first.objectKey}${first.line !== undefined ? `, line ${first.line}` : ''}${first.requestId ? ` (request ${first.requestId})` : ''}: ${first.message}`);
  } else if (nothingVerified(report)) {
    lines.push('NOTHING VERIFIED: no digest and no batch covers this period, nor any digest after it (an empty bucket: a log not yet signed, or removed whole).');
  } else {
    lines.push(report.findings.length > 0 ? 'OK: nothing was changed, removed or added (see the warnings above).' : 'OK: nothing was changed, removed or added.');
  }
  return `${lines.join('\n')}\n`;
}

function nothingVerified(report: VerifyReport): boolean {
  return report.digests.checked === 0 && report.batches.checked === 0;
}

