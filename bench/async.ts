import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateQueueCommand, GetQueueAttributesCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { v7 as uuidv7 } from 'uuid';
import { inProducerSpace } from '../lib/core/request-id-space';
import { main } from '../cli/main';
import type { CliIo } from '../cli/command';
import { ASYNC_REQUEST_MESSAGE_SCHEMA } from '../lib/core/async/async-request-message';
import { ON_FREE_PORTS, startLocalStack, type LocalStack } from '../local/stack';
import { installInvokeStore } from '../local/invoke-store';
import { startSqsPoller } from '../local/sqs-poller';
import { runAsyncMessage } from '../lib/core/async/run-async-message';
import { serveAsyncSubmission } from '../lib/core/async/serve-async-submission';
import { asyncWorld, delivery, submissionOf } from '../test/unit/async/async-fixtures';
import { writeBenchmarksSection } from './benchmarks-file';
import { clockTicksPerSecond, cpuTicksOf } from './proc-cpu';

// `npm run bench:async`: how many jobs per second the async path moves through the local queue and
// worker, against how fast a trivial consumer (same poller, same batch settings, a handler that does
// nothing) drains the same emulator in the same run; and the README's "1,000 jobs with one command"
// end to end. Figures go to BENCHMARKS.md, section "async".

const SETTINGS = {
  /** Messages each drain phase moves. */
  messages: 2_000,
  /** The worker's event source settings as the local stack runs them (serverless.yml: batch 10, window 1 s). */
  batchSize: 10,
  batchingWindowSeconds: 1,
  concurrency: 2,
  /** The README's command: `modelgate submit jobs sentiment --count 1000`. */
  cliJobs: 1_000,
  hardLimitMs: 900_000,
} as const;

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const startedAt = new Date();
const dataDir = mkdtempSync(join(tmpdir(), 'modelgate-bench-async-'));
let stack: LocalStack | undefined;
const watchdog = setTimeout(() => {
  console.error('async benchmark: still running after the hard limit; giving up');
  void Promise.race([stack?.stop(), new Promise((resolve) => setTimeout(resolve, 5_000))]).finally(() => process.exit(2));
}, SETTINGS.hardLimitMs);

try {
  // The trivial consumer below runs on the local SQS poller, which invokes inside the invoke store.
  await installInvokeStore({ overlapping: false });
  const machine = { nproc: availableParallelism(), node: process.version, loadAverage1m: loadavg()[0] ?? Number.NaN };
  stack = await startLocalStack({
    root: ROOT,
    dataDir,
    ...ON_FREE_PORTS,
    scheduleIntervalSeconds: 3_600,
    batchingWindowSeconds: SETTINGS.batchingWindowSeconds,
    asyncWorkerConcurrency: SETTINGS.concurrency,
  });
  const sqs = new SQSClient({ region: 'us-east-1', endpoint: stack.emulatorUrl, credentials });
  const ticks = clockTicksPerSecond();
  const body = { instances: ['the service was quick and friendly'] };

  // 0. The worker's own logic, in this process with in-memory ports (the unit tests' fakes): what a
  //    job costs before any AWS SDK call, emulator or model server.
  const world = asyncWorld();
  const deliveries = [];
  for (let i = 0; i < SETTINGS.messages; i += 1) {
    await serveAsyncSubmission(submissionOf(world, { instances: [[5.1, 3.5, 1.4, 0.2]] }), world.submission);
    deliveries.push(delivery(world.queue.sent.at(-1)!.text));
  }
  const logicStart = performance.now();
  for (const message of deliveries) await runAsyncMessage(message, world.worker);
  const logicMs = performance.now() - logicStart;
  const logicResult = { jobs: deliveries.length, msPerJob: logicMs / deliveries.length };
  console.log('logic', JSON.stringify(logicResult));

  // 1. A trivial consumer: the same poller and settings as the worker, a handler that does nothing.
  const { QueueUrl: trivialUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'bench-trivial', Attributes: { VisibilityTimeout: '370' } }));
  const trivialMessages = Array.from({ length: SETTINGS.messages }, () => producerMessage(inProducerSpace(uuidv7()), body));
  const trivialEnqueueMs = await sendAll(sqs, trivialUrl!, trivialMessages);
  const trivialStart = performance.now();
  const trivial = startSqsPoller({
    sqs,
    queueUrl: trivialUrl!,
    queueArn: 'arn:aws:sqs:us-east-1:000000000000:bench-trivial',
    functionName: 'trivial',
    timeoutSeconds: 60,
    batchSize: SETTINGS.batchSize,
    maximumBatchingWindowSeconds: SETTINGS.batchingWindowSeconds,
    reportBatchItemFailures: true,
    concurrency: SETTINGS.concurrency,
    handler: async () => ({ batchItemFailures: [] }),
  });
  await waitForEmptyQueue(sqs, trivialUrl!, 300_000);
  const trivialMs = performance.now() - trivialStart;
  await trivial.stop();
  const trivialResult = { messages: SETTINGS.messages, enqueueMs: trivialEnqueueMs, drainedMs: trivialMs, messagesPerSecond: SETTINGS.messages / (trivialMs / 1000) };
  console.log('trivial', JSON.stringify(trivialResult));

  // 2. The same number of async requests straight onto the request queue (as IAM producers send
  //    them), run by the real worker in the local stack's workers process: each one claimed in
  //    DynamoDB, routed to the model server, result to S3, audit record and usage event handed off.
  const ids = Array.from({ length: SETTINGS.messages }, () => inProducerSpace(uuidv7()));
  const workerCpuBefore = cpuTicksOf(stack.pids.workers);
  const workerStart = performance.now();
  const workerEnqueueMs = await sendAll(sqs, stack.asyncQueueUrl, ids.map((id) => producerMessage(id, body)));
  await waitForEmptyQueue(sqs, stack.asyncQueueUrl, 600_000);
  const workerMs = performance.now() - workerStart;
  const workerCpuSeconds = (cpuTicksOf(stack.pids.workers) - workerCpuBefore) / ticks;
  const finished = await statuses(stack, ids);
  if (finished.succeeded !== ids.length) throw new Error(`worker phase: ${JSON.stringify(finished)} of ${ids.length}`);
  const workerResult = {
    jobs: ids.length,
    enqueueMs: workerEnqueueMs,
    drainedMs: workerMs,
    jobsPerSecond: ids.length / (workerMs / 1000),
    workerCpuSecondsPerThousandJobs: (workerCpuSeconds / ids.length) * 1000,
    succeeded: finished.succeeded,
  };
  console.log('worker', JSON.stringify(workerResult));

  // 3. The README's one command: submit 1,000 jobs over HTTP, watch them finish, save every result.
  let out = '';
  const io: CliIo = {
    stdout: (text) => void (out += text),
    stderr: () => undefined,
    env: { MODELGATE_HOME: dataDir },
    cwd: ROOT,
    now: () => new Date(),
  };
  const cliStart = performance.now();
  const code = await main(['submit', 'jobs', 'sentiment', '--count', String(SETTINGS.cliJobs), '--json', '--out', join(dataDir, 'results.jsonl')], io);
  const cliMs = performance.now() - cliStart;
  const cli = JSON.parse(out) as { submitted: number; accepted: number; succeeded: number; failed: number; unfinished: number };
  if (code !== 0) throw new Error(`modelgate submit jobs exited ${code}: ${out}`);
  const cliResult = { ...cli, elapsedMs: cliMs, jobsPerSecond: cli.succeeded / (cliMs / 1000) };
  console.log('cli', JSON.stringify(cliResult));

  const results = { benchmark: 'async', startedAt: startedAt.toISOString(), durationMs: Date.now() - startedAt.getTime(), command: 'npm run bench:async', machine, settings: SETTINGS, logic: logicResult, trivial: trivialResult, worker: workerResult, cli: cliResult };
  const resultsDir = join(ROOT, 'bench/results');
  mkdirSync(resultsDir, { recursive: true });
  const resultsFile = join(resultsDir, `async-${startedAt.toISOString().replace(/:/g, '-').replace(/\.\d+Z$/, 'Z')}.json`);
  writeFileSync(resultsFile, `${JSON.stringify(results, null, 2)}\n`);
  const report = formatReport(results);
  writeBenchmarksSection(join(ROOT, 'BENCHMARKS.md'), 'async', report);
  console.log(`\n${report}\n\nRaw figures: ${resultsFile}\nSection "async" of BENCHMARKS.md rewritten.`);
} catch (error) {
  process.exitCode = 1;
  console.error(`async benchmark aborted: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
} finally {
  await stack?.stop();
  rmSync(dataDir, { recursive: true, force: true });
  clearTimeout(watchdog);
}

function producerMessage(requestId: string, body: unknown): string {
  return JSON.stringify({ schema: ASYNC_REQUEST_MESSAGE_SCHEMA, requestId, tenant: 'demo', endpoint: 'sentiment', body });
}

/** Sends in batches of 10, four batches in flight; returns how long it took. */
async function sendAll(sqs: SQSClient, queueUrl: string, bodies: readonly string[]): Promise<number> {
  const began = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < bodies.length) {
        const from = next;
        next += 10;
        await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: bodies.slice(from, from + 10).map((text, i) => ({ Id: String(i), MessageBody: text })) }));
      }
    }),
  );
  return performance.now() - began;
}

async function waitForEmptyQueue(sqs: SQSClient, queueUrl: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
    if (Number(Attributes?.ApproximateNumberOfMessages ?? 0) + Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0) === 0) return;
    if (Date.now() > deadline) throw new Error(`${queueUrl} did not drain within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Every request's status, read back through the API as its tenant would. */
async function statuses(local: LocalStack, ids: readonly string[]): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < ids.length) {
        const id = ids[next++]!;
        const answer = (await (await fetch(`${local.apiUrl}/requests/${id}`, { headers: { authorization: `Bearer ${local.demoApiKey}` } })).json()) as { status?: string };
        const status = answer.status ?? 'missing';
        counts[status] = (counts[status] ?? 0) + 1;
      }
    }),
  );
  return counts;
}

function formatReport(results: {
  startedAt: string;
  durationMs: number;
  machine: { nproc: number; node: string; loadAverage1m: number };
  logic: { jobs: number; msPerJob: number };
  trivial: { messages: number; drainedMs: number; messagesPerSecond: number };
  worker: { jobs: number; enqueueMs: number; drainedMs: number; jobsPerSecond: number; workerCpuSecondsPerThousandJobs: number };
  cli: { submitted: number; succeeded: number; failed: number; unfinished: number; elapsedMs: number; jobsPerSecond: number };
}): string {
  const { logic: g, trivial: t, worker: w, cli: c } = results;
  const f = (value: number, digits = 0) => value.toFixed(digits);
  return `## Async submissions

- **Command:** \`npm run bench:async\` (\`tsx bench/async.ts\`), run ${results.startedAt}, took ${f(results.durationMs / 1000)} s.
- **Machine:** ${results.machine.nproc} CPUs, Node ${results.machine.node}, 1-minute load average ${f(results.machine.loadAverage1m, 2)} before the run; shared with other work and noisy: read ratios and orders of magnitude.
- **Setup:** the local stack as \`npm start\` runs it; fauxqs (S3 + SQS) and dynalite (DynamoDB) in one process, the worker in the workers process driven by the local SQS poller with serverless.yml's settings (batch ${SETTINGS.batchSize}, batching window ${SETTINGS.batchingWindowSeconds} s, ${SETTINGS.concurrency} invocations in flight, each batch's records in parallel), the model server answering \`sentiment\`.

| measure | value |
| --- | ---: |
| trivial consumer (same poller and settings, handler does nothing): ${t.messages} messages drained in (ms) | ${f(t.drainedMs)} |
| **trivial consumer drain rate (messages/s)** | **${f(t.messagesPerSecond)}** |
| async worker: ${w.jobs} requests sent straight onto the queue, all succeeded, queue empty after (ms) | ${f(w.drainedMs)} |
| **async worker throughput (jobs/s)** | **${f(w.jobsPerSecond)}** (${f((w.jobsPerSecond / t.messagesPerSecond) * 100)}% of the trivial consumer's rate) |
| workers process CPU per 1,000 jobs (s) | ${f(w.workerCpuSecondsPerThousandJobs, 2)} |
| the worker's own logic per job, in process with in-memory ports (${g.jobs} jobs) (ms) | ${f(g.msPerJob, 2)} |
| \`modelgate submit jobs sentiment --count ${c.submitted}\`: submitted over HTTP, watched to the end, every result saved (s) | ${f(c.elapsedMs / 1000, 1)} |
| of which succeeded / failed / not finished | ${c.succeeded} / ${c.failed} / ${c.unfinished} |
| end to end, one command (jobs/s) | ${f(c.jobsPerSecond)} |

Each job is one claim (a conditional write to DynamoDB), one model call, one S3 put of the result, the
terminal state, the audit record and usage event (two SQS sends), and the hand-off recorded: seven
round trips against two emulators and the model server sharing the machine, where the trivial
consumer makes none per message. The worker's own logic is a small part of a job's CPU (the row
above against the workers process's CPU per job); the rest is the AWS SDK's per-call cost (signing,
serialising, checksums) and the emulators. In AWS the worker scales out with the event source (\`asyncWorkerConcurrency\`, 10 by
default) and each of those round trips is a few milliseconds.`;
}
