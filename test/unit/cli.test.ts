import { describe, expect, it } from 'vitest';
import { auditCommands } from '../../cli/commands/audit';
import { submitCommands } from '../../cli/commands/submit';
import { formatTable, printable } from '../../cli/table';
import { runCli, type CliRunOptions } from '../fixtures/run-cli';

/** Nowhere to find a deployment, and a fixed today: help and usage checks need nothing more. */
const NO_DEPLOYMENT = { env: { MODELGATE_HOME: '/nonexistent/modelgate-home' }, cwd: '/tmp', now: new Date('2026-11-21T12:00:00Z') } satisfies CliRunOptions;

describe('the modelgate CLI', () => {
  it('lists its command groups, and every group its commands', async () => {
    const top = await runCli(['--help'], NO_DEPLOYMENT);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/Commands:\n\s+audit\s+search, show and verify the audit log/);
    const audit = await runCli(['audit', '--help'], NO_DEPLOYMENT);
    expect(audit.stdout).toMatch(/search\s+Find audit records[\s\S]*show\s+Show one request[\s\S]*verify\s+Prove a period/);
    expect(audit.stdout).toContain('MODELGATE_HOME/stack.json');
  });

  it.each(auditCommands.commands.map((command) => command.name))('has --help on `audit %s`, with its usage, options and examples', async (name) => {
    const help = await runCli(['audit', name, '--help'], NO_DEPLOYMENT);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain(`Usage: modelgate audit ${name}`);
    expect(help.stdout).toContain('--json');
    expect(help.stdout).toContain('Examples:');
  });

  it.each(submitCommands.commands.map((command) => command.name))('has --help on `submit %s`, with its usage and examples', async (name) => {
    const help = await runCli(['submit', name, '--help'], NO_DEPLOYMENT);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain(`Usage: modelgate submit ${name}`);
    expect(help.stdout).toContain('Examples:');
  });

  it('refuses a malformed MODELGATE_API_KEY without repeating it', async () => {
    const key = `mgk_${'k'.repeat(43)}\nexpires=2027-01-01`;
    const result = await runCli(['submit', 'status', '01a1fd23-0000-7000-8000-000000000000'], { ...NO_DEPLOYMENT, env: { ...NO_DEPLOYMENT.env, MODELGATE_API_URL: 'http://127.0.0.1:9', MODELGATE_API_KEY: key } });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('MODELGATE_API_KEY is not a modelgate API key');
    expect(result.stderr).not.toContain('kkkkkkkk');
  });

  it('says how to point `submit` at a deployment when it finds none (exit 3)', async () => {
    const result = await runCli(['submit', 'jobs', 'sentiment', '--count', '1'], NO_DEPLOYMENT);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/no deployment found: .*Start the local stack with "npm start", or set MODELGATE_API_URL/);
  });

  it.each([
    [['nope'], /unknown command "nope"/],
    [['audit', 'nope'], /unknown command "nope". Commands: search, show, verify/],
    [['audit', 'search', '--tenantt', 'x'], /Unknown option '--tenantt'[\s\S]*modelgate audit search --help/],
    [['audit', 'show'], /expected <request-id>, got 0 argument\(s\)/],
    [['audit', 'show', 'abc'], /abc is not a request id/],
    [['audit', 'search', '--day', '2026-11-21', '--from', '1h'], /use --day or --from\/--to, not both/],
    [['audit', 'search', '--status', 'abc'], /status: must be a status \(404\) or a class \(4xx\)/],
    [['audit', 'verify', 'last tuesday'], /"last tuesday" is not a time/],
    [['audit', 'verify', '2099-01-01'], /the period starts at 2099-01-01T00:00:00\.000Z, after now/],
    [['submit', 'jobs', 'sentiment', '--count', '1e10'], /--count must be a whole number from 1 to 1000000, not "1e10"/],
    [['submit', 'jobs', 'sentiment', '--count', '0x3'], /--count must be a whole number/],
    [['audit', 'verify', '24h', '--digest-every', 'abc'], /--digest-every \(minutes\) must be a whole number from 1 to 525600, not "abc"/],
    // Number() would have read these as 16 minutes and 10 days.
    [['audit', 'verify', '24h', '--digest-every', '0x10'], /--digest-every \(minutes\) must be a whole number from 1 to 525600, not "0x10"/],
    [['audit', 'verify', '24h', '--retention-days', '1e1'], /--retention-days must be a whole number from 1 to 36500, not "1e1"/],
    // Refused before anything is created: past what a date holds the old key could no longer be read.
    [['keys', 'rotate', 'key_0000000000000000', '--grace', '100000000d'], /--grace is at most 365d, not "100000000d"/],
    // Refused before the write: a reason or name the key store cannot read back would lock the key out of every command.
    [['keys', 'revoke', 'key_0000000000000000', '--reason', 'Leaked in a public repo. '.repeat(21)], /--reason is at most 500 characters/],
    [['keys', 'create', '--tenant', 'acme', '--name', 'n'.repeat(101)], /--name is at most 100 characters/],
    [['keys', 'create', '--tenant', 'acme', '--rpm', 'abc'], /--rpm must be a whole number from 1 to 1000000, not "abc"/],
    [['keys', 'create', '--tenant', 'acme', '--tpm', '99999999999999999999'], /--tpm must be a whole number from 1 to 1000000000, not "99999999999999999999"/],
    [['budgets', 'set', '--tenant', 'acme', '--monthly', '9500000'], /--monthly: "9500000" is more than the largest amount counted exactly, 9007199\.254740991/],
    // parseArgs would keep the last: the search would show globex's records, the key be granted y alone.
    [['audit', 'search', '--day', '2026-11-21', '--tenant', 'acme', '--tenant', 'globex'], /--tenant is given more than once/],
    [['keys', 'create', '--tenant', 'acme', '--endpoints', 'x', '--endpoints', 'y'], /--endpoints is given more than once/],
    [['audit', 'search', '--day', '7d'], /--day takes a day \(2026-11-21\), not "7d"/],
    [['abuse', 'findings', '--rule', 'authfailures'], /--rule is one of rateSpike, authFailures, badRequests, contentFlags, not "authfailures"/],
  ])('refuses %j with a usage error (exit 2) that says what is wrong', async (argv, message) => {
    const result = await runCli(argv, NO_DEPLOYMENT);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  it('says how to point it at a deployment when it finds none (exit 3)', async () => {
    const result = await runCli(['audit', 'show', '01a1ffdf-0000-7000-8000-000000000001'], NO_DEPLOYMENT);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/no deployment found: .*stack.json does not exist. Start the local stack with "npm start"/);
  });

  it('prints aligned tables, numbers to the right, long cells cut', () => {
    const table = formatTable(
      [
        { name: 'sentiment', status: 200, note: 'a very long explanation of nothing at all' },
        { name: 'iris', status: 4, note: '' },
      ],
      [
        { header: 'ENDPOINT', value: (row) => row.name },
        { header: 'STATUS', value: (row) => String(row.status), right: true },
        { header: 'NOTE', value: (row) => row.note, maxWidth: 12 },
      ],
    );
    expect(table.split('\n')).toEqual(['ENDPOINT   STATUS  NOTE', 'sentiment     200  a very long…', 'iris            4']);
  });

  it('writes what a terminal would act on (escapes, bidi controls, line breaks) as \\u escapes in tables and records', () => {
    // An endpoint name a caller chose: set the window title, clear the screen; and one forging lines of a record.
    const hostile = '\u001b]0;owned\u0007\u001b[2J\u001b[Hall clear \u009b31m \u202eevil';
    const table = formatTable([{ endpoint: hostile }], [{ header: 'ENDPOINT', value: (row) => row.endpoint }]);
    expect(table).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
    expect(table).toContain('\\u001b]0;owned\\u0007\\u001b[2J\\u001b[Hall clear \\u009b31m \\u202eevil');
    expect(printable('sentiment\n  status     200')).toBe('sentiment\\u000a  status     200');
    expect(printable('Hello, wörld ✓')).toBe('Hello, wörld ✓');
  });
});
