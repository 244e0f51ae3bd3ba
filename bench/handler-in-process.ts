import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pinProcess } from './cpu-pinning';
import type { WhatIf } from './processes/what-if';
import { summarize, type Distribution } from './stats';

/** What the handler loop is asked to do (sent over IPC). */
/** V8's sampling interval when the loop is profiled (`profileFile`): what a profile's samples are worth. */
export const PROFILE_SAMPLING_INTERVAL_US = 100;

export interface HandlerLoopRequest {
  apiKey: string;
  endpoint: string;
  /** Route to call (default `/serving-endpoints/{endpoint}/invocations`); its handler is the one serverless.yml names. */
  path?: string;
  body: string;
  warmup: number;
  invocations: number;
  /** When set, V8's CPU profiler samples the measured invocations (not start-up, not warm-up) into this `.cpuprofile` file. */
  profileFile?: string;
  /** Parts of the hot path taken away in this run, to measure what they cost (see processes/what-if.ts). */
  whatIfs?: WhatIf[];
  /**
   * Callers invoking the handler at once (default 1, one invocation at a time). Above 1 the loop
   * answers with a {@link ConcurrentLoopResult}: overlapping invocations share the CPU and the SQS
   * hand-off wait, so only the measured phase as a whole is measured.
   */
  concurrency?: number;
}

/** One measured invocation. */
export interface HandlerSample {
  requestId: string;
  wallMs: number;
  /** `process.cpuUsage()` delta, user + system, µs. */
  cpuUs: number;
  overheadHeaderMs: number;
  /** Time waiting on SQS sends (the audit and usage hand-offs), from `SQSClient.send` timed in the loop. */
  handoffMs: number;
}

export interface HandlerLoopResult {
  samples: HandlerSample[];
  failures: number;
  firstFailure?: string;
}

/** One invocation measured while others overlapped it: its CPU and hand-off wait are not its own alone. */
export type OverlappedSample = Pick<HandlerSample, 'requestId' | 'wallMs' | 'overheadHeaderMs'>;

/** What the loop answers when asked for a concurrency above 1. */
export interface ConcurrentLoopResult {
  concurrency: number;
  samples: OverlappedSample[];
  /** The measured phase as a whole, from its first invocation's start to its last one's answer (warm-up excluded). */
  phase: {
    invocations: number;
    wallMs: number;
    /** `process.cpuUsage()` delta over the phase, user + system, µs. */
    cpuUs: number;
    /** `SQSClient.send` calls over the phase, and the messages they carried (a batch's entries). */
    sqs: { calls: number; messages: number };
  };
  failures: number;
  firstFailure?: string;
}

export interface InProcessFigures {
  invocations: number;
  failures: number;
  firstFailure?: string;
  wallMs: Distribution;
  cpuUs: Distribution;
  overheadHeaderMs: Distribution;
  /** From the handler's own log line: arrival to answer ready, before the hand-offs. */
  loggedLatencyMs: Distribution;
  /** From the log line: the SageMaker runtime SDK call as the handler timed it (SDK cost included). */
  loggedBackendMs: Distribution;
  /** Wall time minus the logged latency: audit + usage hand-offs, then logging, metrics, middy and formatting. */
  afterLoggedLatencyMs: Distribution;
  /** Measured invocations whose log line was found (the logged figures cover only these). */
  matchedLogLines: number;
  /** Waiting on the audit and usage hand-offs (SQS sends), per invocation. */
  handoffMs: Distribution;
  /** Wall time minus the logged backend call minus the hand-off wait: the handler's own time. */
  ownMs: Distribution;
}

/** Consecutive invocations of one loop (from `from`, counted from the first measured one), summarized together. */
export interface InvocationBlock {
  from: number;
  invocations: number;
  cpuUs: Distribution;
  ownMs: Distribution;
  /** Invocations whose own time was over 1 ms. */
  ownOverOneMs: number;
}

/**
 * The loop measured block by block, in order: how a process's cost per invocation changes over
 * its life (V8 compiling the hot path, the young generation growing), where the other figures
 * only pool the measured invocations.
 */
export async function measureHandlerBlocks(options: HandlerLoopOptions<HandlerLoopRequest & { concurrency?: 1 }>, blockSize: number): Promise<InvocationBlock[]> {
  const { result, logged } = await runHandlerLoop<HandlerLoopResult>(options);
  if (result.failures > 0) throw new Error(`${result.failures} non-2xx answers (first: ${result.firstFailure})`);
  const blocks: InvocationBlock[] = [];
  for (let from = 0; from < result.samples.length; from += blockSize) {
    const block = result.samples.slice(from, from + blockSize);
    const own = block.flatMap((sample) => {
      const line = logged.get(sample.requestId);
      return line ? [ownTimeMs(sample, line)] : [];
    });
    blocks.push({
      from,
      invocations: block.length,
      cpuUs: summarize(block.map((sample) => sample.cpuUs)),
      ownMs: summarize(own),
      ownOverOneMs: own.filter((ms) => ms > 1).length,
    });
  }
  return blocks;
}

/**
 * The loop at a concurrency above 1: whole-phase CPU and throughput, per-invocation wall time; no
 * own time. Nor the handler's logged timings: it sets `requestId` on a module-level logger, so with
 * invocations overlapping a log line can carry another invocation's id.
 */
export interface ConcurrentInProcessFigures {
  concurrency: number;
  invocations: number;
  failures: number;
  firstFailure?: string;
  /** Wall time of the measured phase. */
  phaseWallMs: number;
  /** The process's CPU over the measured phase (every thread, user + system), µs. */
  phaseCpuUs: number;
  /** `phaseCpuUs` ÷ measured invocations. */
  cpuUsPerInvocation: number;
  /** Measured invocations per second of the phase's wall time. */
  requestsPerSecond: number;
  /** SQS calls over the phase and the messages they carried: the group commit's batch size is their ratio. */
  sqs: { calls: number; messages: number };
  /** Per invocation, start to answer, with the other callers' invocations in flight. */
  wallMs: Distribution;
  overheadHeaderMs: Distribution;
}

interface InvocationLogLine {
  message?: string;
  requestId?: string;
  latencyMs?: number;
  backendLatencyMs?: number;
}

interface HandlerLoopOptions<Request extends HandlerLoopRequest> {
  /** Checkout whose serverless.yml names the handler and whose code it runs (the loop's working directory). */
  root: string;
  /** Checkout whose bench/processes/handler-loop.ts runs it (default `root`); a baseline's own may predate an option asked for. */
  loopRoot?: string;
  environment: Record<string, string>;
  request: Request;
  timeoutMs: number;
  /** Pin the loop to these CPUs (`taskset --cpu-list`) before it is given its work. */
  cpus?: string;
  /** Flags for the loop's `node` (V8's too, e.g. `--no-opt`), before the script. */
  nodeFlags?: string[];
}

type LoggedTimings = ReadonlyMap<string, { latencyMs: number; backendLatencyMs: number }>;

/**
 * Runs the handler serverless.yml names for the request's route in a loop with no HTTP in front of it, in a child process of its own:
 * the S3/SQS emulator lives in this process, so `process.cpuUsage()` here would count the
 * emulator's work as the handler's. The child's stdout is the handler's structured log, which
 * gives the handler's own latency and backend timings per request id. One invocation at a time,
 * so each one's CPU and own time are measured on their own.
 */
export async function measureHandlerInProcess(options: HandlerLoopOptions<HandlerLoopRequest & { concurrency?: 1 }>): Promise<InProcessFigures> {
  const { result, logged } = await runHandlerLoop<HandlerLoopResult>(options);
  return figuresFrom(result, logged);
}

/**
 * The same loop with `request.concurrency` callers invoking the handler at once, as one Node.js
 * process serves overlapping requests (a Lambda Managed Instances worker, the local API).
 */
export async function measureHandlerConcurrently(options: HandlerLoopOptions<HandlerLoopRequest & { concurrency: number }>): Promise<ConcurrentInProcessFigures> {
  const { result } = await runHandlerLoop<ConcurrentLoopResult | HandlerLoopResult>(options);
  if (!('phase' in result)) throw new Error(`the handler loop in ${options.loopRoot ?? options.root} predates concurrency: pass loopRoot`);
  return concurrentFiguresFrom(result);
}

function runHandlerLoop<Result>(options: HandlerLoopOptions<HandlerLoopRequest>): Promise<{ result: Result; logged: LoggedTimings }> {
  const child = spawn(process.execPath, [...(options.nodeFlags ?? []), '--import', 'tsx', join(options.loopRoot ?? options.root, 'bench/processes/handler-loop.ts')], {
    cwd: options.root,
    env: { ...process.env, ...options.environment },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const logged = new Map<string, { latencyMs: number; backendLatencyMs: number }>();
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const entry = parseLogLine(line);
    if (entry?.message === 'Invocation' && entry.requestId && typeof entry.latencyMs === 'number' && typeof entry.backendLatencyMs === 'number') {
      logged.set(entry.requestId, { latencyMs: entry.latencyMs, backendLatencyMs: entry.backendLatencyMs });
    }
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });

  return new Promise((resolve, reject) => {
    let result: Result | undefined;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the in-process handler loop did not finish within ${options.timeoutMs} ms`));
    }, options.timeoutMs);
    child.on('message', (message: Result) => {
      result = message;
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    // 'close' rather than 'exit': every log line has been read by then.
    child.once('close', (code) => {
      clearTimeout(timer);
      if (!result) {
        reject(new Error(`the in-process handler loop exited with code ${code}: ${stderr.trim().split('\n').slice(-5).join(' | ')}`));
        return;
      }
      resolve({ result, logged });
    });
    // The loop waits for this message: pinned now, everything it measures runs on these CPUs.
    if (options.cpus !== undefined && child.pid !== undefined) pinProcess(child.pid, options.cpus);
    child.send(options.request);
  });
}

/** The handler's own time: wall time minus the backend call it logged minus the wait on the SQS hand-offs. */
function ownTimeMs(sample: HandlerSample, line: { backendLatencyMs: number }): number {
  return sample.wallMs - line.backendLatencyMs - sample.handoffMs;
}

function figuresFrom(result: HandlerLoopResult, logged: LoggedTimings): InProcessFigures {
  const latencies: number[] = [];
  const backends: number[] = [];
  const after: number[] = [];
  const own: number[] = [];
  for (const sample of result.samples) {
    const line = logged.get(sample.requestId);
    if (!line) continue;
    latencies.push(line.latencyMs);
    backends.push(line.backendLatencyMs);
    after.push(sample.wallMs - line.latencyMs);
    own.push(ownTimeMs(sample, line));
  }
  const figures: InProcessFigures = {
    invocations: result.samples.length,
    failures: result.failures,
    wallMs: summarize(result.samples.map((sample) => sample.wallMs)),
    cpuUs: summarize(result.samples.map((sample) => sample.cpuUs)),
    overheadHeaderMs: summarize(result.samples.map((sample) => sample.overheadHeaderMs)),
    loggedLatencyMs: summarize(latencies),
    loggedBackendMs: summarize(backends),
    afterLoggedLatencyMs: summarize(after),
    matchedLogLines: latencies.length,
    handoffMs: summarize(result.samples.map((sample) => sample.handoffMs)),
    ownMs: summarize(own),
  };
  if (result.firstFailure !== undefined) figures.firstFailure = result.firstFailure;
  return figures;
}

function concurrentFiguresFrom(result: ConcurrentLoopResult): ConcurrentInProcessFigures {
  const figures: ConcurrentInProcessFigures = {
    concurrency: result.concurrency,
    invocations: result.samples.length,
    failures: result.failures,
    phaseWallMs: result.phase.wallMs,
    phaseCpuUs: result.phase.cpuUs,
    cpuUsPerInvocation: result.phase.cpuUs / result.phase.invocations,
    requestsPerSecond: result.phase.invocations / (result.phase.wallMs / 1000),
    sqs: result.phase.sqs,
    wallMs: summarize(result.samples.map((sample) => sample.wallMs)),
    overheadHeaderMs: summarize(result.samples.map((sample) => sample.overheadHeaderMs)),
  };
  if (result.firstFailure !== undefined) figures.firstFailure = result.firstFailure;
  return figures;
}

function parseLogLine(line: string): InvocationLogLine | undefined {
  try {
    const parsed: unknown = JSON.parse(line);
    return typeof parsed === 'object' && parsed !== null ? (parsed as InvocationLogLine) : undefined;
  } catch {
    return undefined;
  }
}
