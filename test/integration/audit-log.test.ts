import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { createKeyObjectDigestSigner } from '../../lib/adapters/key-file-digest-signer';
import { createS3ObjectStore } from '../../lib/adapters/s3-object-store';
import { AUDIT_RECORDS_PREFIX, partitionPrefix, partitionsBetween } from '../../lib/core/audit-log/layout';
import { readerRecordId } from '../../lib/core/audit-log/reader-record';
import { findAuditRecord } from '../../lib/core/audit-log/search';
import type { VerifyReport } from '../../lib/core/audit-log/verify';
import type { AuditRecord } from '../../lib/core/audit-record';
import { auditRecordFixture } from '../fixtures/audit-records';
import { runCli } from '../fixtures/run-cli';
import { seedAuditLog } from '../fixtures/seed-audit-log';
import { stackClient } from './stack-client';
import { SECRET_SHAPED } from '../fixtures/secret-shaped';

const client = stackClient();
const { stack } = client;
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const s3 = new S3Client({ region: 'us-east-1', endpoint: stack.emulatorUrl, forcePathStyle: true, credentials });
const sqs = new SQSClient({ region: 'us-east-1', endpoint: stack.emulatorUrl, credentials });

const SENTIMENT = { dataframe_split: { columns: ['text'], data: [['I love this, it works wonderfully']] } };
const IRIS = { instances: [[5.1, 3.5, 1.4, 0.2]] };

/** Waits until the archiver has drained the audit queue (nothing waiting, nothing in flight). */
async function auditQueueDrained(timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: stack.auditQueueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
    );
    if (Number(Attributes?.ApproximateNumberOfMessages) === 0 && Number(Attributes?.ApproximateNumberOfMessagesNotVisible) === 0) return;
    if (Date.now() > deadline) throw new Error('the audit queue did not drain');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Every line of every batch object in the given period, by request id. */
async function archivedLinesById(from: Date, to: Date): Promise<Map<string, string[]>> {
  const byId = new Map<string, string[]>();
  for (const partition of partitionsBetween(from, to)) {
    for await (const object of client.archive.list(partitionPrefix(partition))) {
      const lines = gunzipSync((await client.archive.get(object.key))!).toString('utf8').trimEnd().split('\n');
      for (const line of lines) {
        const id = (JSON.parse(line) as AuditRecord).requestId;
        byId.set(id, [...(byId.get(id) ?? []), line]);
      }
    }
  }
  return byId;
}

/** The CLI's environment for a bucket of the emulator (a deployed stack is configured the same way). */
function cliEnvironment(bucket: string, publicKeyFile?: string): NodeJS.ProcessEnv {
  return {
    AUDIT_BUCKET: bucket,
    AUDIT_READS_QUEUE_URL: stack.auditReadsQueueUrl,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_S3: stack.emulatorUrl,
    AWS_ENDPOINT_URL_SQS: stack.emulatorUrl,
    S3_FORCE_PATH_STYLE: 'true',
    ...(publicKeyFile ? { MODELGATE_AUDIT_PUBLIC_KEY: publicKeyFile } : {}),
  };
}

async function freshBucket(name: string) {
  await s3.send(new CreateBucketCommand({ Bucket: name }));
  return createS3ObjectStore(s3, { bucket: name });
}

describe('the audit log, through the local stack', () => {
  it('1,000 mixed requests (served, refused, failed) leave exactly 1,000 records, each findable by id', { timeout: 180_000 }, async () => {
    // Prepare
    const { apiKey: irisOnly } = await client.createKey({ tenant: 'acme', endpoints: ['iris'] });
    const kinds: Array<{ status: number; send: () => ReturnType<typeof client.invoke> }> = [
      { status: 200, send: () => client.invoke('sentiment', SENTIMENT) },
      { status: 200, send: () => client.invoke('iris', IRIS) },
      { status: 401, send: () => client.invoke('sentiment', SENTIMENT, { key: null }) },
      { status: 401, send: () => client.invoke('sentiment', SENTIMENT, { key: `mgk_${'q'.repeat(43)}` }) },
      { status: 403, send: () => client.invoke('sentiment', SENTIMENT, { key: irisOnly }) },
      { status: 404, send: () => client.invoke('no-such-endpoint', SENTIMENT) },
      { status: 400, send: () => client.invoke('iris', undefined, { raw: '{"instances": [' }) },
      { status: 400, send: () => client.invoke('iris', { instances: [[1, 2, 3]] }) },
      { status: 413, send: () => client.invoke('small', { inputs: Array.from({ length: 40 }, (_, i) => `sentence ${i}`) }) },
      { status: 502, send: () => client.invoke('ghost', SENTIMENT) },
    ];
    const from = new Date(Date.now() - 1_000);
    const sent: Array<{ id: string; status: number }> = [];
    // Act: 1,000 requests, 8 at a time.
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < 1_000) {
          const kind = kinds[next++ % kinds.length]!;
          const answer = await kind.send();
          expect(answer.status).toBe(kind.status);
          sent.push({ id: answer.headers.get('x-request-id')!, status: answer.status });
        }
      }),
    );
    await auditQueueDrained();
    // Assess: each id is found by `show`'s lookup, with its status, and is stored exactly once.
    const pending = [...sent];
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let request = pending.pop(); request; request = pending.pop()) {
          const found = await findAuditRecord(client.archive, request.id);
          expect(found?.record.status, `request ${request.id}`).toBe(request.status);
        }
      }),
    );
    const archived = await archivedLinesById(from, new Date(Date.now() + 1_000));
    const ours = sent.map(({ id }) => archived.get(id)?.length ?? 0);
    expect(ours.filter((count) => count === 1)).toHaveLength(1_000);
    expect(new Set(sent.map(({ id }) => id)).size).toBe(1_000);
    // And one usage event each (read off the usage queue, which also leaves it empty for later tests).
    for (const { id } of sent) expect(await client.usageEvents(id, { waitMs: 30_000 }), `usage of ${id}`).toHaveLength(1);
  });

  it('never stores a planted secret, e-mail, phone or card number, in any object, whatever the path in', async () => {
    // Prepare
    const planted = {
      email: 'planted.person.7731@example.org',
      card: '4111 1111 1111 1111',
      cardDigits: '4111111111111111',
      phone: '+1 415 555 2671',
      awsKey: SECRET_SHAPED.awsAccessKeyId,
      bearer: 'Bearer planted-token-7731-abcdefgh',
      apiKey: `mgk_planted7731${'x'.repeat(32)}`,
    };
    const text = `Contact ${planted.email} or ${planted.phone}; card ${planted.card}; aws ${planted.awsKey}; ${planted.bearer}; key ${planted.apiKey}`;
    const ids: string[] = [];
    const remember = (answer: Awaited<ReturnType<typeof client.invoke>>) => ids.push(answer.headers.get('x-request-id')!);
    // Act: in a served body, a refused body (its error echoes values), a header, the path, and a body too large for the queue.
    remember(await client.invoke('sentiment', { dataframe_split: { columns: ['text'], data: [[text]] } }, { headers: { 'user-agent': `agent ${planted.email}` } }));
    remember(await client.invoke('iris', { dataframe_records: [{ card: Number(planted.cardDigits), note: text }] }));
    remember(await client.invoke(encodeURIComponent(planted.email), { inputs: [text] }));
    remember(await client.invoke('sentiment', { inputs: [`${'padding '.repeat(40_000)} ${text}`] }));
    await auditQueueDrained();
    for (const id of ids) expect(await client.auditObject(id), `record of ${id}`).toBeDefined();
    // Assess: every object of the audit bucket, whatever its prefix, decompressed where gzip.
    const leaks: string[] = [];
    let token: string | undefined;
    let objects = 0;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: stack.auditBucket, ContinuationToken: token }));
      for (const object of page.Contents ?? []) {
        const body = await (await s3.send(new GetObjectCommand({ Bucket: stack.auditBucket, Key: object.Key! }))).Body!.transformToByteArray();
        const content = object.Key!.endsWith('.gz') ? gunzipSync(body).toString('utf8') : Buffer.from(body).toString('utf8');
        objects += 1;
        for (const value of Object.values(planted)) if (content.includes(value)) leaks.push(`${object.Key} holds ${value}`);
      }
      token = page.NextContinuationToken;
    } while (token);
    expect(objects).toBeGreaterThan(4);
    expect(leaks).toEqual([]);
    const large = await client.auditObject(ids[3]!);
    expect(large?.record.request.ref?.s3Key).toMatch(/^audit\/bodies\/v1\/[0-9a-f]{64}\.json$/);
  });

  describe('GET /audit/records', () => {
    async function get(path: string, key: string | null) {
      const response = await fetch(`${stack.apiUrl}${path}`, { headers: key ? { authorization: `Bearer ${key}` } : {} });
      return { status: response.status, id: response.headers.get('x-request-id')!, json: (await response.json()) as Record<string, unknown> };
    }

    it('refuses keys without the auditor role (403) and callers without a key (401), and audits the attempts', async () => {
      // Prepare
      const served = await client.invoke('sentiment', SENTIMENT);
      const id = served.headers.get('x-request-id')!;
      // Act
      const byId = await get(`/audit/records/${id}`, stack.demoApiKey);
      const search = await get('/audit/records?from=1h', stack.demoApiKey);
      const anonymous = await get(`/audit/records/${id}`, null);
      // Assess
      expect([byId.status, search.status, anonymous.status]).toEqual([403, 403, 401]);
      expect(byId.json.error).toMatchObject({ code: 'PERMISSION_DENIED', message: expect.stringContaining('auditor role'), request_id: byId.id });
      const attempt = await client.auditObject(byId.id);
      expect(attempt?.record).toMatchObject({ kind: 'audit-read', status: 403, tenant: 'demo', endpoint: '/audit/records/{id}', request: { body: { requestId: id } } });
    });

    it('serves an auditor one record and a search, and records both reads in the audit log', async () => {
      // Prepare
      const { apiKey: auditor, record: auditorKey } = await client.createKey({ tenant: 'security', roles: ['auditor'], endpoints: [] });
      const served = await client.invoke('iris', IRIS);
      const id = served.headers.get('x-request-id')!;
      await client.auditObject(id);
      // Act
      const one = await get(`/audit/records/${id}`, auditor);
      const many = await get('/audit/records?from=1h&endpoint=iris&status=2xx&limit=5', auditor);
      const bad = await get('/audit/records?status=abc', auditor);
      const missing = await get('/audit/records/01a1ffdf-0000-7000-8000-000000000099', auditor);
      // Assess
      expect(one.status).toBe(200);
      expect(one.json.record).toMatchObject({ requestId: id, endpoint: 'iris', status: 200, request: { body: IRIS } });
      expect(many.status).toBe(200);
      const records = many.json.records as AuditRecord[];
      expect(records.length).toBeGreaterThan(0);
      expect(records.every((record) => record.endpoint === 'iris' && record.status === 200)).toBe(true);
      expect(bad.status).toBe(400);
      expect(bad.json.error).toMatchObject({ code: 'INVALID_REQUEST', message: expect.stringContaining('status') });
      expect(missing.status).toBe(404);
      const readOne = await client.auditObject(one.id);
      expect(readOne?.record).toMatchObject({ kind: 'audit-read', keyId: auditorKey.keyId, tenant: 'security', status: 200, response: { body: { returned: 1, requestIds: [id] } } });
      const readMany = await client.auditObject(many.id);
      expect(readMany?.record).toMatchObject({ kind: 'audit-read', keyId: auditorKey.keyId, request: { body: { query: { endpoint: 'iris', status: '2xx' } } } });
      expect((readMany?.record.response.body as { requestIds: string[] }).requestIds).toEqual(records.map((record) => record.requestId));
    });
  });

  describe('the modelgate CLI', () => {
    it('`audit show` finds one request among 100,000 records in under a second', { timeout: 120_000 }, async () => {
      // Prepare: 100,000 records in one hour (the worst case: one partition), 400 batch objects.
      const store = await freshBucket('audit-show-100k');
      const { requestIds } = await seedAuditLog(store, { records: 100_000, start: new Date('2026-11-20T10:00:00Z'), spacingMs: 35, batchSize: 250 });
      const env = cliEnvironment('audit-show-100k');
      // Act
      const picks = [requestIds[0]!, requestIds[31_337]!, requestIds[77_777]!, requestIds.at(-1)!];
      const runs = [];
      for (const id of picks) runs.push({ id, ...(await runCli(['audit', 'show', id, '--json'], { env })) });
      // Assess
      for (const run of runs) {
        expect(run.code, run.stderr).toBe(0);
        expect((JSON.parse(run.stdout) as { record: AuditRecord }).record.requestId).toBe(run.id);
        expect(run.ms).toBeLessThan(1_000);
      }
      const table = await runCli(['audit', 'show', picks[1]!], { env });
      expect(table.stdout).toContain(`Request ${picks[1]}`);
      expect(table.stdout).toMatch(/stored in\s+audit\/v1\/dt=2026-11-20\/hour=10\//);
    });

    it('`audit verify` names each altered, removed and inserted record among 10,000, and verifies an untouched log clean', { timeout: 120_000 }, async () => {
      // Prepare: 10,000 records across a day, 10 batch objects, signed digests; a public key file.
      const store = await freshBucket('audit-verify-10k');
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      await seedAuditLog(store, {
        records: 10_000,
        start: new Date('2026-11-19T08:00:00Z'),
        spacingMs: 3_000,
        batchSize: 1_000,
        signer: createKeyObjectDigestSigner(privateKey),
        digestEveryMs: 3_600_000,
        signedUntil: new Date('2026-11-20T00:05:00Z'),
      });
      const keyFile = join(mkdtempSync(join(tmpdir(), 'modelgate-key-')), 'audit.pub.pem');
      writeFileSync(keyFile, publicKey.export({ type: 'spki', format: 'pem' }));
      const env = cliEnvironment('audit-verify-10k', keyFile);
      const keys: string[] = [];
      for await (const object of store.list(AUDIT_RECORDS_PREFIX)) keys.push(object.key);
      // Act: untouched; and a bucket that holds no log at all.
      const clean = await runCli(['audit', 'verify', '2026-11-19'], { env });
      await freshBucket('audit-verify-empty');
      const empty = await runCli(['audit', 'verify', '2026-11-19'], { env: cliEnvironment('audit-verify-empty', keyFile) });
      const emptyJson = await runCli(['audit', 'verify', '2026-11-19', '--json'], { env: cliEnvironment('audit-verify-empty', keyFile) });
      // Act: alter line 17 of the 2nd object, remove line 500 of the 5th, insert a line at 3 in the 8th.
      const rewrite = async (key: string, edit: (lines: string[]) => string[]) => {
        const lines = gunzipSync((await store.get(key))!).toString('utf8').trimEnd().split('\n');
        await s3.send(new PutObjectCommand({ Bucket: 'audit-verify-10k', Key: key, Body: gzipSync(`${edit(lines).join('\n')}\n`) }));
        return lines;
      };
      const altered = JSON.parse((await rewrite(keys[1]!, (l) => l.map((line, i) => (i === 16 ? line.replace(/"tenant":"\w+"/, '"tenant":"mallory"') : line))))[16]!).requestId as string;
      const removed = JSON.parse((await rewrite(keys[4]!, (l) => l.filter((_, i) => i !== 499)))[499]!).requestId as string;
      const forged = auditRecordFixture(424_242, new Date('2026-11-19T15:00:00Z'));
      await rewrite(keys[7]!, (l) => [...l.slice(0, 2), JSON.stringify(forged), ...l.slice(2)]);
      const tampered = await runCli(['audit', 'verify', '2026-11-19', '--json'], { env });
      const text = await runCli(['audit', 'verify', '2026-11-19'], { env });
      // Assess
      expect(clean.code, clean.stderr).toBe(0);
      expect(clean.stdout).toMatch(/records\s+10000/);
      expect(clean.stdout).toContain('OK: nothing was changed, removed or added.');
      expect(empty.code, empty.stdout).toBe(1);
      expect(empty.stdout).toContain('NOTHING VERIFIED: no digest and no batch covers this period');
      // The JSON says what the exit code says.
      expect(emptyJson.code).toBe(1);
      expect(JSON.parse(emptyJson.stdout)).toMatchObject({ ok: false, verifiedSomething: false, findings: [] });
      expect(tampered.code).toBe(1);
      const report = JSON.parse(tampered.stdout) as VerifyReport;
      expect(report).toMatchObject({ ok: false, verifiedSomething: true });
      expect(report.findings.map(({ kind, objectKey, line, requestId }) => ({ kind, objectKey, line, requestId }))).toEqual([
        { kind: 'record-altered', objectKey: keys[1], line: 17, requestId: altered },
        { kind: 'record-missing', objectKey: keys[4], line: 500, requestId: removed },
        { kind: 'record-inserted', objectKey: keys[7], line: 3, requestId: forged.requestId },
      ]);
      expect(text.stdout).toContain(`FAILED. First problem: ${keys[1]}, line 17 (request ${altered})`);
    });

    it('`audit search` finds a day of one tenant, page by page', { timeout: 60_000 }, async () => {
      // Prepare
      const store = await freshBucket('audit-search-day');
      await seedAuditLog(store, { records: 2_000, start: new Date('2026-11-18T00:00:00Z'), spacingMs: 40_000, batchSize: 100 });
      const env = cliEnvironment('audit-search-day');
      // Act
      const first = await runCli(['audit', 'search', '--day', '2026-11-18', '--tenant', 'acme', '--limit', '300', '--json'], { env });
      const page1 = JSON.parse(first.stdout) as { records: AuditRecord[]; next: string };
      const second = await runCli(['audit', 'search', '--day', '2026-11-18', '--tenant', 'acme', '--limit', '300', '--after', page1.next, '--json'], { env });
      const page2 = JSON.parse(second.stdout) as { records: AuditRecord[]; next: string | null };
      const table = await runCli(['audit', 'search', '--day', '2026-11-18', '--tenant', 'globex', '--status', '5xx', '--limit', '3'], { env });
      // Assess
      const all = [...page1.records, ...page2.records];
      expect(all).toHaveLength(500);
      expect(all.every((record) => record.tenant === 'acme' && record.time.startsWith('2026-11-18'))).toBe(true);
      expect(new Set(all.map((record) => record.requestId)).size).toBe(500);
      expect(table.stdout).toMatch(/TIME \(UTC\)\s+REQUEST ID\s+TENANT\s+KEY\s+ENDPOINT\s+SERVED BY\s+STATUS\s+ERROR\s+MS/);
      expect(table.stdout.match(/ globex /g)).toHaveLength(3);
      expect(table.stdout).toContain('More may match: add --after');
    });

    it('records its own read in the gateway\'s audit log, through the readers\' queue and the archiver', async () => {
      // Prepare
      const served = await client.invoke('iris', IRIS);
      const id = served.headers.get('x-request-id')!;
      await client.auditObject(id);
      const from = new Date();
      // Act
      const run = await runCli(['audit', 'show', id, '--json'], { env: cliEnvironment(stack.auditBucket) });
      // Assess: the read is archived under the id its content gives (the archiver takes no other there).
      expect(run.code, run.stderr).toBe(0);
      let read: AuditRecord | undefined;
      for (const deadline = Date.now() + 10_000; !read && Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 200))) {
        const lines = [...(await archivedLinesById(from, new Date())).values()].flat().map((line) => JSON.parse(line) as AuditRecord);
        read = lines.find((record) => record.endpoint === 'cli:audit show' && (record.response.body as { requestIds?: string[] }).requestIds?.includes(id));
      }
      expect(read).toMatchObject({ kind: 'audit-read', status: 200, request: { body: { command: 'audit show', requestId: id } } });
      expect(read!.requestId).toBe(readerRecordId(read!));
    });

    it('refuses to show a read it cannot record in the audit log', async () => {
      const env = { ...cliEnvironment('audit-search-day'), AUDIT_READS_QUEUE_URL: `${stack.emulatorUrl}/000000000000/no-such-queue` };
      const run = await runCli(['audit', 'search', '--day', '2026-11-18', '--limit', '1'], { env });
      expect(run.code).toBe(3);
      expect(run.stderr).toContain('could not be recorded in the audit log, so it is not shown');
      expect(run.stdout).toBe('');
    });
  });
});
