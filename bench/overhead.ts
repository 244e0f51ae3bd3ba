import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ON_FREE_PORTS, startLocalStack, type LocalStack } from '../local/stack';
import { writeBenchmarksSection } from './benchmarks-file';
import { measureHandlerInProcess } from './handler-in-process';
import { batchFigures, startLoadGenerator, type BatchResult, type LoadGenerator, type LoadTarget } from './load';
import { formatOverheadReport } from './overhead-report';
import { machineFacts } from './machine-facts';
import { summarizeLevel, type BatchRecord, type OverheadResults, type TargetName } from './overhead-results';
import { cpuTicksOf, machineCpuTicks } from './proc-cpu';
import { summarize } from './stats';

// `npm run bench`: what the gateway adds to a model call, measured against the same local model
// server called directly, plus the handler's CPU and its in-process timings. See BENCHMARKS.md.

const SETTINGS = {
  repeats: 4,
  levels: [
    // Warm-ups long enough for the API process's JIT to settle (earlier repeats ran visibly slower).
    { concurrency: 1, requests: 300, warmup: 300 },
    { concurrency: 16, requests: 1500, warmup: 600 },
  ],
  handlerLoop: { warmup: 200, invocations: 1000 },
  // Every batch must start before this much time has passed; a slower machine aborts the run.
  timeBoundMs: 150_000,
  // If anything hangs past this, the watchdog stops the stack and exits.
  hardLimitMs: 200_000,
} as const;

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ENDPOINT = 'sentiment';
const MODEL_SERVER_ENDPOINT = 'sentiment-v1';
const BODY = JSON.stringify({ dataframe_split: { columns: ['text'], data: [['I love this']] } });
const LOAD_GENERATOR =
  'node:http clients on a keep-alive http.Agent (a fresh one per batch, maxSockets = concurrency, Nagle off), closed loop, ' +
  "in a worker thread of the benchmark process (the fauxqs S3/SQS emulator runs on that process's main thread)";

class RunAborted extends Error {
  override name = 'RunAborted';
}

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const startedAt = new Date();
const dataDir = mkdtempSync(join(tmpdir(), 'modelgate-bench-'));
let stack: LocalStack | undefined;
let load: LoadGenerator | undefined;
const watchdog = setTimeout(() => {
  console.error(`overhead benchmark: still running after ${SETTINGS.hardLimitMs / 1000} s; stopping the stack and giving up`);
  void Promise.race([stack?.stop(), new Promise((resolve) => setTimeout(resolve, 5_000))]).finally(() => process.exit(2));
}, SETTINGS.hardLimitMs);

try {
  // Taken first, so the load average describes the machine before our own load.
  const machine = machineFacts();
  const deadline = Date.now() + SETTINGS.timeBoundMs;
  stack = await startLocalStack({ root: ROOT, dataDir, ...ON_FREE_PORTS });
  const pids = stack.pids;
  load = startLoadGenerator();
  const targets: Record<TargetName, LoadTarget> = {
    direct: {
      url: `${stack.modelServerUrl}/endpoints/${MODEL_SERVER_ENDPOINT}/invocations`,
      headers: { 'content-type': 'application/json' },
      body: BODY,
    },
    gateway: {
      url: `${stack.apiUrl}/serving-endpoints/${ENDPOINT}/invocations`,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.demoApiKey}` },
      body: BODY,
    },
  };

  const batches: BatchRecord[] = [];
  const samples = new Map<BatchRecord, { latenciesMs: number[]; overheadHeaderMs: number[] }>();
  for (const level of SETTINGS.levels) {
    for (const name of ['direct', 'gateway'] as const) {
      checked(`warm-up ${name} c=${level.concurrency}`, await load.run({ target: targets[name], concurrency: level.concurrency, requests: level.warmup, deadline }));
    }
    for (let repeat = 0; repeat < SETTINGS.repeats; repeat += 1) {
      // Alternating which target goes first spreads slow drifts in the machine's load over both.
      const order: TargetName[] = repeat % 2 === 0 ? ['direct', 'gateway'] : ['gateway', 'direct'];
      for (const [position, name] of order.entries()) {
        const before = cpuSnapshot(pids);
        const result = await load.run({ target: targets[name], concurrency: level.concurrency, requests: level.requests, deadline });
        const after = cpuSnapshot(pids);
        checked(`${name} c=${level.concurrency} repeat ${repeat + 1}`, result);
        const record: BatchRecord = {
          concurrency: level.concurrency,
          target: name,
          repeat,
          position,
          ...batchFigures(result),
          cpuTicks: {
            api: after.api - before.api,
            modelServer: after.modelServer - before.modelServer,
            benchMainThread: after.benchMainThread - before.benchMainThread,
            loadGeneratorThread: result.loadGeneratorCpuTicks,
            benchProcess: after.benchProcess - before.benchProcess,
            machineBusy: after.machine.busy - before.machine.busy,
            machineTotal: after.machine.total - before.machine.total,
            machineSteal: after.machine.steal - before.machine.steal,
          },
        };
        if (result.overheadHeaderMs.length > 0) record.overheadHeaderMs = summarize(result.overheadHeaderMs);
        batches.push(record);
        samples.set(record, { latenciesMs: result.latenciesMs, overheadHeaderMs: result.overheadHeaderMs });
      }
    }
  }

  const inProcess = await measureHandlerInProcess({
    root: ROOT,
    environment: stack.environment,
    request: { apiKey: stack.demoApiKey, endpoint: ENDPOINT, body: BODY, ...SETTINGS.handlerLoop },
    timeoutMs: Math.max(5_000, deadline - Date.now()),
  });
  if (inProcess.failures > 0) {
    throw new RunAborted(`in-process handler: ${inProcess.failures} non-2xx answers (first: ${inProcess.firstFailure})`);
  }

  const results: OverheadResults = {
    benchmark: 'overhead',
    startedAt: startedAt.toISOString(),
    durationMs: Date.now() - startedAt.getTime(),
    command: 'npm run bench',
    machine,
    loadGenerator: LOAD_GENERATOR,
    workload: { endpoint: ENDPOINT, modelServerEndpoint: MODEL_SERVER_ENDPOINT, body: BODY },
    settings: { repeats: SETTINGS.repeats, levels: SETTINGS.levels, handlerLoop: SETTINGS.handlerLoop, timeBoundMs: SETTINGS.timeBoundMs },
    measuredRequests: batches.reduce((sum, batch) => sum + batch.requests, 0),
    nonSuccess: 0,
    levels: SETTINGS.levels.map((level) => summarizeLevel(level.concurrency, batches, samples, machine.clockTicksPerSecond)),
    inProcess,
    batches,
  };

  const resultsDir = join(ROOT, 'bench/results');
  mkdirSync(resultsDir, { recursive: true });
  const resultsFile = join(resultsDir, `overhead-${startedAt.toISOString().replace(/:/g, '-').replace(/\.\d+Z$/, 'Z')}.json`);
  writeFileSync(resultsFile, `${JSON.stringify(results, null, 2)}\n`);
  const report = formatOverheadReport(results);
  writeBenchmarksSection(join(ROOT, 'BENCHMARKS.md'), 'overhead', report);
  console.log(report);
  console.log(`\nRaw figures: ${resultsFile}\nSection "overhead" of BENCHMARKS.md rewritten.`);
} catch (error) {
  process.exitCode = 1;
  console.error(`overhead benchmark aborted: ${error instanceof Error ? error.message : String(error)}`);
  if (!(error instanceof RunAborted) && error instanceof Error && error.stack) console.error(error.stack);
} finally {
  await load?.close();
  await stack?.stop();
  rmSync(dataDir, { recursive: true, force: true });
  clearTimeout(watchdog);
}

/** Aborts the run on any failed request or a batch cut short by the time bound. */
function checked(batch: string, result: BatchResult): BatchResult {
  if (result.failures > 0) {
    throw new RunAborted(
      `${batch}: ${result.failures} failed request(s) after ${result.completed} good ones; first: ${result.firstFailure}. No figures written.`,
    );
  }
  if (result.timedOut) {
    throw new RunAborted(`${batch}: the ${SETTINGS.timeBoundMs / 1000} s time bound ran out. No figures written.`);
  }
  return result;
}

function cpuSnapshot(pids: LocalStack['pids']) {
  return {
    api: cpuTicksOf(pids.api),
    modelServer: cpuTicksOf(pids.modelServer),
    benchMainThread: cpuTicksOf('thread-self'),
    benchProcess: cpuTicksOf('self'),
    machine: machineCpuTicks(),
  };
}
