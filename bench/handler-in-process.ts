import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { WhatIf } from './processes/what-if';
import { summarize, type Distribution } from './stats';

/** What the handler loop is asked to do (sent over IPC). */
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

interface InvocationLogLine {
  message?: string;
  requestId?: string;
  latencyMs?: number;
  backendLatencyMs?: number;
}

/**
 * Runs the invoke handler in a loop with no HTTP in front of it, in a child process of its own:
 * the S3/SQS emulator lives in this process, so `process.cpuUsage()` here would count the
 * emulator's work as the handler's. The child's stdout is the handler's structured log, which
 * gives the handler's own latency and backend timings per request id.
 */
export function measureHandlerInProcess(options: {
  root: string;
  environment: Record<string, string>;
  request: HandlerLoopRequest;
  timeoutMs: number;
  /** Run the loop under `taskset --cpu-list` with these CPUs. */
  cpus?: string;
  /** Extra node flags, e.g. `--cpu-prof`. */
  nodeArgs?: string[];
}): Promise<InProcessFigures> {
  const node = [process.execPath, ...(options.nodeArgs ?? []), '--import', 'tsx', join(options.root, 'bench/processes/handler-loop.ts')];
  const [command = process.execPath, ...args] = options.cpus === undefined ? node : ['taskset', '--cpu-list', options.cpus, ...node];
  const child = spawn(command, args, {
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
    let result: HandlerLoopResult | undefined;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the in-process handler loop did not finish within ${options.timeoutMs} ms`));
    }, options.timeoutMs);
    child.on('message', (message: HandlerLoopResult) => {
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
      resolve(figuresFrom(result, logged));
    });
    child.send(options.request);
  });
}

function figuresFrom(result: HandlerLoopResult, logged: ReadonlyMap<string, { latencyMs: number; backendLatencyMs: number }>): InProcessFigures {
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
    own.push(sample.wallMs - line.backendLatencyMs - sample.handoffMs);
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

function parseLogLine(line: string): InvocationLogLine | undefined {
  try {
    const parsed: unknown = JSON.parse(line);
    return typeof parsed === 'object' && parsed !== null ? (parsed as InvocationLogLine) : undefined;
  } catch {
    return undefined;
  }
}
