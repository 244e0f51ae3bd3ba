import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3ObjectStore } from '../../lib/adapters/s3-object-store';
import { findAuditRecord } from '../../lib/core/audit-log/search';
import { ON_FREE_PORTS, startLocalStack, type LocalStack } from '../../local/stack';

const run = promisify(execFile);

// A stack of its own: this file stops its S3 + SQS emulator. The production key cache (60 s) is
// kept, so requests still authenticate while the emulator is down and reach the audit hand-off.
describe('fail closed: with the S3 and SQS emulator stopped', () => {
  let stack: LocalStack;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'modelgate-fail-closed-'));
    stack = await startLocalStack({
      dataDir,
      ...ON_FREE_PORTS,
      endpointsConfig: 'test/fixtures/endpoints.json',
      batchingWindowSeconds: 0.1,
      // The archiver's long poll, cut off by the outage, is answered anyway (as SQS may): the
      // message it took stays out of sight for the visibility timeout, 7 minutes as deployed.
      auditVisibilityTimeoutSeconds: 5,
    });
  }, 60_000);

  afterAll(async () => {
    await stack?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function invoke(): Promise<{ status: number; id: string; code?: string; retryAfter: string | null }> {
    const response = await fetch(`${stack.apiUrl}/serving-endpoints/sentiment/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.demoApiKey}` },
      body: JSON.stringify({ inputs: ['fail closed, please'] }),
    });
    const body = (await response.json()) as { error?: { code: string } };
    return { status: response.status, id: response.headers.get('x-request-id')!, ...(body.error ? { code: body.error.code } : {}), retryAfter: response.headers.get('retry-after') };
  }

  async function cli(...args: string[]) {
    try {
      const { stdout } = await run(process.execPath, ['bin/modelgate.js', ...args], { env: { ...process.env, MODELGATE_HOME: dataDir }, timeout: 30_000 });
      return { code: 0, stdout };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  }

  /** `audit show` through the real bin and stack.json, retried while the archiver catches up. */
  async function showEventually(id: string, timeoutMs = 20_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const shown = await cli('audit', 'show', id, '--json');
      if (shown.code !== 1 || Date.now() > deadline) return shown;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  it('answers 503 AUDIT_UNAVAILABLE while the audit hand-off cannot happen, serves nothing unaudited, counts it, and resumes', { timeout: 90_000 }, async () => {
    // Prepare: a served request caches the key (as a warm Lambda container would have).
    const before = await invoke();
    expect(before.status).toBe(200);
    // Archived before the outage: an archiver batch cut off mid-write comes back only after the
    // queue's visibility timeout (7 minutes, as deployed), which this test does not wait out.
    expect((await showEventually(before.id)).code).toBe(0);

    // Act: the emulator goes away.
    await stack.emulator.pause();
    const during = [];
    for (let i = 0; i < 5; i += 1) during.push(await invoke());
    await stack.emulator.resume();
    const after = [];
    for (let i = 0; i < 3; i += 1) after.push(await invoke());

    // Assess: nothing served while down, every answer withheld with a retry-after.
    expect(during.map((answer) => [answer.status, answer.code, answer.retryAfter])).toEqual(Array(5).fill([503, 'AUDIT_UNAVAILABLE', '1']));
    expect(after.map((answer) => answer.status)).toEqual([200, 200, 200]);

    // Every request that was served has its record, read back with the CLI through stack.json.
    for (const served of [before, ...after]) {
      const shown = await showEventually(served.id);
      expect(shown.code, shown.stderr).toBe(0);
      expect(JSON.parse(shown.stdout)).toMatchObject({ record: { requestId: served.id, status: 200 } });
    }
    // The withheld ones could not be recorded: the audit log holds no record of them being served.
    const archive = createS3ObjectStore(
      new S3Client({ region: 'us-east-1', endpoint: stack.emulatorUrl, forcePathStyle: true, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
      { bucket: stack.auditBucket },
    );
    for (const withheld of during) expect(await findAuditRecord(archive, withheld.id)).toBeUndefined();

    // The failure is a metric the alarm watches: AuditHandoffFailure with the service dimension only.
    const emf = readFileSync(join(dataDir, 'logs/api.log'), 'utf8')
      .split('\n')
      .filter((line) => line.includes('"AuditHandoffFailure"'))
      .map((line) => JSON.parse(line) as { _aws: { CloudWatchMetrics: Array<{ Dimensions: string[][] }> }; AuditHandoffFailure: number });
    const alarmed = emf.filter((entry) => JSON.stringify(entry._aws.CloudWatchMetrics[0]!.Dimensions) === '[["service"]]');
    expect(alarmed).toHaveLength(5);
  });
});
