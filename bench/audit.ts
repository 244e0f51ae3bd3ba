import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { main } from '../cli/main';
import type { CliIo } from '../cli/command';
import { createKeyObjectDigestSigner } from '../lib/adapters/key-file-digest-signer';
import { createS3ObjectStore } from '../lib/adapters/s3-object-store';
import { partitionPrefix, partitionsBetween } from '../lib/core/audit-log/layout';
import type { ObjectStore } from '../lib/ports/object-store';
import { ON_FREE_PORTS, startLocalStack, type LocalStack } from '../local/stack';
import { auditRecordFixture } from '../test/fixtures/audit-records';
import { seedAuditLog } from '../test/fixtures/seed-audit-log';
import { writeBenchmarksSection } from './benchmarks-file';
import { startLoadGenerator, type LoadGenerator } from './load';
import { clockTicksPerSecond, cpuTicksOf } from './proc-cpu';
import { summarize, type Distribution } from './stats';

// `npm run bench:audit`: (1) does the archiver keep up with the sync path's benchmark load,
// (2) how fast can it drain a backlog, (3) how long does `audit show` take among 100,000 records,
// and what do verify and search cost there. Figures go to BENCHMARKS.md, section "audit".

const SETTINGS = {
  load: { concurrency: 16, warmup: 300, requests: 6_000 },
  backlog: { records: 20_000 },
  show: { records: 100_000, batchSize: 250, spacingMs: 35, inProcessLookups: 50, processLookups: 5 },
  hardLimitMs: 600_000,
} as const;

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BODY = JSON.stringify({ dataframe_split: { columns: ['text'], data: [['I love this']] } });
const run = promisify(execFile);
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const startedAt = new Date();
const dataDir = mkdtempSync(join(tmpdir(), 'modelgate-bench-audit-'));
let stack: LocalStack | undefined;
let load: LoadGenerator | undefined;
const watchdog = setTimeout(() => {
  console.error('audit benchmark: still running after the hard limit; giving up');
  void Promise.race([stack?.stop(), new Promise((resolve) => setTimeout(resolve, 5_000))]).finally(() => process.exit(2));
}, SETTINGS.hardLimitMs);

try {
  const machine = { nproc: availableParallelism(), node: process.version, loadAverage1m: loadavg()[0] ?? Number.NaN };
  // As `npm start` runs it: archiver batching window capped at 1 s, no digests during the run.
  stack = await startLocalStack({ root: ROOT, dataDir, ...ON_FREE_PORTS, scheduleIntervalSeconds: 3_600, batchingWindowSeconds: 1 });
  const s3 = new S3Client({ region: 'us-east-1', endpoint: stack.emulatorUrl, forcePathStyle: true, credentials });
  const sqs = new SQSClient({ region: 'us-east-1', endpoint: stack.emulatorUrl, credentials });
  const archive = createS3ObjectStore(s3, { bucket: stack.auditBucket });
  const ticks = clockTicksPerSecond();

  // 1. The sync path's benchmark load (c=16, as in the overhead benchmark), archiver running.
  load = startLoadGenerator();
  const target = { url: `${stack.apiUrl}/serving-endpoints/sentiment/invocations`, headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.demoApiKey}` }, body: BODY };
  const deadline = Date.now() + SETTINGS.hardLimitMs;
  await load.run({ target, concurrency: SETTINGS.load.concurrency, requests: SETTINGS.load.warmup, deadline });
  await waitForEmptyQueue(sqs, stack.auditQueueUrl, 60_000);
  const loadFrom = new Date();
  const workersCpuBefore = cpuTicksOf(stack.pids.workers);
  const sampler = sampleQueue(sqs, stack.auditQueueUrl);
  const loaded = await load.run({ target, concurrency: SETTINGS.load.concurrency, requests: SETTINGS.load.requests, deadline });
  const loadEndedAt = performance.now();
  if (loaded.failures > 0) throw new Error(`load: ${loaded.failures} failed requests; first: ${loaded.firstFailure}`);
  await waitForEmptyQueue(sqs, stack.auditQueueUrl, 120_000);
  const drainAfterLoadMs = performance.now() - loadEndedAt;
  const depth = await sampler.stop();
  const workersCpu = (cpuTicksOf(stack.pids.workers) - workersCpuBefore) / ticks;
  const archivedIds = await archivedRequestIds(archive, loadFrom, new Date());
  const lags = archiverLags(join(dataDir, 'logs/workers.log'), loadFrom);
  const loadResult = {
    requests: loaded.completed,
    elapsedMs: loaded.elapsedMs,
    requestsPerSecond: loaded.completed / (loaded.elapsedMs / 1000),
    latencyMs: summarize(loaded.latenciesMs),
    queueDepth: { max: Math.max(...depth.map((sample) => sample.depth)), samples: depth.length },
    drainAfterLoadMs,
    recordsArchived: archivedIds,
    archiverInvocations: lags.invocations,
    recordsPerInvocation: lags.recordsPerInvocation,
    archiveLagMs: lags.lagMs,
    archiverCpuSecondsPerThousandRecords: (workersCpu / Math.max(1, archivedIds)) * 1000,
  };
  console.log('load', JSON.stringify(loadResult));
  await load.close();
  load = undefined;

  // 2. A backlog sent straight to the audit queue: the archiver's drain rate.
  const backlogStart = performance.now();
  const time = new Date();
  for (let i = 0; i < SETTINGS.backlog.records; i += 10) {
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: stack.auditQueueUrl,
        Entries: Array.from({ length: 10 }, (_, j) => ({ Id: String(j), MessageBody: JSON.stringify(auditRecordFixture(i + j, new Date(time.getTime() + i + j))) })),
      }),
    );
  }
  const enqueuedMs = performance.now() - backlogStart;
  await waitForEmptyQueue(sqs, stack.auditQueueUrl, 300_000);
  const backlogMs = performance.now() - backlogStart;
  const backlogResult = { records: SETTINGS.backlog.records, enqueueMs: enqueuedMs, drainedMs: backlogMs, recordsPerSecond: SETTINGS.backlog.records / (backlogMs / 1000) };
  console.log('backlog', JSON.stringify(backlogResult));

  // 3. `audit show` among 100,000 records (all in one hour partition, 400 batch objects).
  await s3.send(new CreateBucketCommand({ Bucket: 'audit-bench-100k' }));
  const big = createS3ObjectStore(s3, { bucket: 'audit-bench-100k' });
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const keyFile = join(dataDir, 'bench-signing.pub.pem');
  writeFileSync(keyFile, publicKey.export({ type: 'spki', format: 'pem' }));
  const seedStart = performance.now();
  const hour = new Date('2026-11-20T10:00:00Z');
  const { requestIds } = await seedAuditLog(big, {
    ...SETTINGS.show,
    start: hour,
    signer: createKeyObjectDigestSigner(privateKey),
    digestEveryMs: 3_600_000,
    signedUntil: new Date('2026-11-20T11:05:00Z'),
  });
  const seedMs = performance.now() - seedStart;
  const env: NodeJS.ProcessEnv = {
    AUDIT_BUCKET: 'audit-bench-100k',
    AUDIT_READS_QUEUE_URL: stack.auditReadsQueueUrl,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_S3: stack.emulatorUrl,
    AWS_ENDPOINT_URL_SQS: stack.emulatorUrl,
    S3_FORCE_PATH_STYLE: 'true',
    MODELGATE_AUDIT_PUBLIC_KEY: keyFile,
  };
  const cli = async (argv: string[]) => {
    let out = '';
    const io: CliIo = { stdout: (text) => void (out += text), stderr: () => undefined, env, cwd: ROOT, now: () => new Date() };
    const began = performance.now();
    const code = await main(argv, io);
    if (code !== 0) throw new Error(`modelgate ${argv.join(' ')} exited ${code}`);
    return { ms: performance.now() - began, out };
  };
  const picks = Array.from({ length: SETTINGS.show.inProcessLookups }, (_, i) => requestIds[Math.floor(((i + 0.5) / SETTINGS.show.inProcessLookups) * requestIds.length)]!);
  await cli(['audit', 'show', picks[0]!, '--json']);
  const showMs: number[] = [];
  for (const id of picks) showMs.push((await cli(['audit', 'show', id, '--json'])).ms);
  const processMs: number[] = [];
  for (const id of picks.slice(0, SETTINGS.show.processLookups)) {
    const began = performance.now();
    await run(process.execPath, ['bin/modelgate.js', 'audit', 'show', id, '--json'], { cwd: ROOT, env: { ...process.env, ...env } });
    processMs.push(performance.now() - began);
  }
  const verify = await cli(['audit', 'verify', '2026-11-20T10:00:00Z', '2026-11-20T11:00:00Z', '--json']);
  if (!(JSON.parse(verify.out) as { ok: boolean }).ok) throw new Error('verify of the seeded log failed');
  const search = await cli(['audit', 'search', '--from', '2026-11-20T10:00:00Z', '--to', '2026-11-20T11:00:00Z', '--tenant', 'globex', '--status', '5xx', '--limit', '1000', '--json']);
  const showResult = {
    records: SETTINGS.show.records,
    batchObjects: Math.ceil(SETTINGS.show.records / SETTINGS.show.batchSize),
    seedMs,
    inProcessMs: summarize(showMs),
    processMs: summarize(processMs),
    verifyHourMs: verify.ms,
    searchHourMs: search.ms,
    searchMatches: (JSON.parse(search.out) as { records: unknown[] }).records.length,
    searchObjectsRead: (JSON.parse(search.out) as { scanned: { objects: number } }).scanned.objects,
  };
  console.log('show', JSON.stringify(showResult));

  const results = { benchmark: 'audit', startedAt: startedAt.toISOString(), durationMs: Date.now() - startedAt.getTime(), command: 'npm run bench:audit', machine, settings: SETTINGS, load: loadResult, backlog: backlogResult, show: showResult };
  const resultsDir = join(ROOT, 'bench/results');
  mkdirSync(resultsDir, { recursive: true });
  const resultsFile = join(resultsDir, `audit-${startedAt.toISOString().replace(/:/g, '-').replace(/\.\d+Z$/, 'Z')}.json`);
  writeFileSync(resultsFile, `${JSON.stringify(results, null, 2)}\n`);
  const report = formatReport(results);
  writeBenchmarksSection(join(ROOT, 'BENCHMARKS.md'), 'audit', report);
  console.log(`\n${report}\n\nRaw figures: ${resultsFile}\nSection "audit" of BENCHMARKS.md rewritten.`);
} catch (error) {
  process.exitCode = 1;
  console.error(`audit benchmark aborted: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
} finally {
  await load?.close();
  await stack?.stop();
  rmSync(dataDir, { recursive: true, force: true });
  clearTimeout(watchdog);
}

async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<number> {
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
  return Number(Attributes?.ApproximateNumberOfMessages ?? 0) + Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
}

async function waitForEmptyQueue(sqs: SQSClient, queueUrl: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await queueDepth(sqs, queueUrl)) > 0) {
    if (Date.now() > deadline) throw new Error(`the audit queue did not drain within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function sampleQueue(sqs: SQSClient, queueUrl: string): { stop(): Promise<Array<{ atMs: number; depth: number }>> } {
  const samples: Array<{ atMs: number; depth: number }> = [];
  const began = performance.now();
  let running = true;
  const loop = (async () => {
    while (running) {
      samples.push({ atMs: performance.now() - began, depth: await queueDepth(sqs, queueUrl) });
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return samples;
    },
  };
}

async function archivedRequestIds(store: ObjectStore, from: Date, to: Date): Promise<number> {
  const ids = new Set<string>();
  for (const partition of partitionsBetween(from, to)) {
    for await (const object of store.list(partitionPrefix(partition))) {
      for (const line of gunzipSync((await store.get(object.key))!).toString('utf8').trimEnd().split('\n')) {
        const record = JSON.parse(line) as { requestId: string; time: string };
        if (record.time >= from.toISOString()) ids.add(record.requestId);
      }
    }
  }
  return ids.size;
}

/** Per archiver invocation during the run, from the workers' log: records and ArchiveLag (EMF). */
function archiverLags(logFile: string, since: Date): { invocations: number; recordsPerInvocation: Distribution; lagMs: Distribution } {
  const records: number[] = [];
  const lags: number[] = [];
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    if (!line.includes('"ArchiveLag"')) continue;
    const entry = JSON.parse(line) as { _aws: { Timestamp: number }; ArchiveLag: number; RecordsArchived: number; DuplicateRecordsDropped: number };
    if (entry._aws.Timestamp < since.getTime()) continue;
    lags.push(entry.ArchiveLag);
    records.push(entry.RecordsArchived + entry.DuplicateRecordsDropped);
  }
  return { invocations: lags.length, recordsPerInvocation: summarize(records), lagMs: summarize(lags) };
}

function formatReport(results: {
  startedAt: string;
  durationMs: number;
  machine: { nproc: number; node: string; loadAverage1m: number };
  load: { requests: number; requestsPerSecond: number; latencyMs: Distribution; queueDepth: { max: number }; drainAfterLoadMs: number; recordsArchived: number; archiverInvocations: number; recordsPerInvocation: Distribution; archiveLagMs: Distribution; archiverCpuSecondsPerThousandRecords: number };
  backlog: { records: number; enqueueMs: number; drainedMs: number; recordsPerSecond: number };
  show: { records: number; batchObjects: number; seedMs: number; inProcessMs: Distribution; processMs: Distribution; verifyHourMs: number; searchHourMs: number; searchMatches: number; searchObjectsRead: number };
}): string {
  const { load: l, backlog: b, show: s } = results;
  const f = (value: number, digits = 0) => value.toFixed(digits);
  return `## Audit log

- **Command:** \`npm run bench:audit\` (\`tsx bench/audit.ts\`), run ${results.startedAt}, took ${f(results.durationMs / 1000)} s.
- **Machine:** ${results.machine.nproc} CPUs, Node ${results.machine.node}, 1-minute load average ${f(results.machine.loadAverage1m, 2)} before the run; shared and noisy, read orders of magnitude.
- **Setup:** the local stack as \`npm start\` runs it: the real handlers, the archiver driven by the local SQS poller (batch size 1000 from serverless.yml, batching window capped at 1 s locally, one invocation at a time), fauxqs for S3 and SQS.

### Does the archiver keep up with the sync path?

The overhead benchmark's c=16 load (one-row \`dataframe_split\` on \`sentiment\`), ${l.requests} requests, every answer 2xx.

| measure | value |
| --- | ---: |
| gateway throughput (req/s) | ${f(l.requestsPerSecond)} |
| gateway latency p50 / p99 (ms) | ${f(l.latencyMs.p50, 1)} / ${f(l.latencyMs.p99, 1)} |
| records archived (of ${l.requests} requests) | ${l.recordsArchived} |
| most audit messages waiting or in flight (sampled every 250 ms) | ${l.queueDepth.max} |
| queue empty after the last answer (ms) | ${f(l.drainAfterLoadMs)} |
| archiver invocations; records per invocation p50 / max | ${l.archiverInvocations}; ${f(l.recordsPerInvocation.p50)} / ${f(l.recordsPerInvocation.max)} |
| age of the oldest record of an invocation when archived, p50 / p99 / max (ms) | ${f(l.archiveLagMs.p50)} / ${f(l.archiveLagMs.p99)} / ${f(l.archiveLagMs.max)} |
| archiver process CPU per 1,000 records (s) | ${f(l.archiverCpuSecondsPerThousandRecords, 3)} |

A backlog of ${b.records} records sent straight to the audit queue (as after an outage) was enqueued in ${f(b.enqueueMs)} ms and drained in ${f(b.drainedMs)} ms: **${f(b.recordsPerSecond)} records/s**, ${f(b.recordsPerSecond / Math.max(1, l.requestsPerSecond), 1)}× the gateway's throughput under the same benchmark. In AWS the archiver runs up to two invocations at once (ScalingConfig.MaximumConcurrency 2) with batches of up to 1000 records gathered over 10 s.

### \`audit show\` among ${s.records.toLocaleString('en-US')} records

${s.records} records in one hour partition (the worst case for a lookup: every record of the log in the partition it lists), ${s.batchObjects} batch objects of ${s.records / s.batchObjects} records, seeded through the archiver's write path in ${f(s.seedMs / 1000, 1)} s.

| measure | p50 | p90 | max |
| --- | ---: | ---: | ---: |
| \`audit show <id> --json\` in process (${s.inProcessMs.count} ids spread over the log; listing, one object, the audited-read hand-off) (ms) | ${f(s.inProcessMs.p50, 1)} | ${f(s.inProcessMs.p90, 1)} | ${f(s.inProcessMs.max, 1)} |
| \`node bin/modelgate.js audit show <id>\`, whole process incl. tsx start-up (${s.processMs.count} runs) (ms) | ${f(s.processMs.p50)} | ${f(s.processMs.p90)} | ${f(s.processMs.max)} |

For comparison on the same log: \`audit verify\` of the hour (all ${s.records} records against the chain and signed digests) took ${f(s.verifyHourMs)} ms, and \`audit search\` of the hour for one tenant's 5xx (the first ${s.searchMatches} matches, ${s.searchObjectsRead} of the ${s.batchObjects} objects read) took ${f(s.searchHourMs)} ms. The whole-process figure is mostly start-up: tsx's loader (~0.35 s here) and loading the AWS SDK and zod; the lookup itself is the in-process figure.`;
}
