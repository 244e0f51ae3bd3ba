import type { MachineFacts } from './machine-facts';
import type { InProcessFigures } from './handler-in-process';
import { summarize, type Distribution } from './stats';
import type { BatchFigures } from './load';

export type TargetName = 'direct' | 'gateway';

/** CPU time spent during one batch, in clock ticks, by who spent it. */
export interface BatchCpuTicks {
  /** The local API child: node:http front, API Gateway event building, the invoke handler. */
  api: number;
  modelServer: number;
  /** This process's main thread: the fauxqs S3/SQS emulator and relaying the children's logs. */
  benchMainThread: number;
  loadGeneratorThread: number;
  /** This whole process (both threads above plus GC and libuv threads). */
  benchProcess: number;
  /** Every CPU of the machine, busy time: our processes, the kernel, other tenants. */
  machineBusy: number;
  machineTotal: number;
  machineSteal: number;
}

/** One measured batch, as recorded; the pooled figures are derived from these. */
export interface BatchRecord extends BatchFigures {
  concurrency: number;
  target: TargetName;
  repeat: number;
  /** 0 when this target went first in its repeat, 1 when second. */
  position: number;
  overheadHeaderMs?: Distribution;
  cpuTicks: BatchCpuTicks;
}

export interface CpuPerRequest {
  apiUs: number;
  modelServerUs: number;
  benchMainThreadUs: number;
  loadGeneratorThreadUs: number;
  /** API + model server + the whole benchmark process. */
  ourProcessesUs: number;
  /** CPUs kept busy, on average, by work that is not ours (other tenants, kernel time not charged to a process). */
  otherCpus: number;
  /** Share of all CPUs' time that was busy during these batches, 0–100. */
  machineBusyPercent: number;
  machineStealPercent: number;
}

export interface TargetSummary {
  requests: number;
  throughputRps: number;
  /** Pooled over every repeat's samples. */
  latencyMs: Distribution;
  p50PerRepeatMs: number[];
  cpuPerRequest: CpuPerRequest;
  overheadHeaderMs?: Distribution;
}

export interface LevelSummary {
  concurrency: number;
  direct: TargetSummary;
  gateway: TargetSummary;
  /** gateway − direct, ms. */
  addedMs: { p50: number; p90: number; p99: number };
  /** gateway / direct. */
  ratio: { p50: number; p90: number; p99: number };
}

export type { MachineFacts };

export interface OverheadResults {
  benchmark: 'overhead';
  startedAt: string;
  durationMs: number;
  command: string;
  machine: MachineFacts;
  loadGenerator: string;
  workload: { endpoint: string; modelServerEndpoint: string; body: string };
  settings: {
    repeats: number;
    levels: ReadonlyArray<{ concurrency: number; requests: number; warmup: number }>;
    handlerLoop: { warmup: number; invocations: number };
    timeBoundMs: number;
  };
  /** Measured requests over HTTP (warm-up excluded), and how many were not 2xx (any aborts the run). */
  measuredRequests: number;
  nonSuccess: number;
  levels: LevelSummary[];
  inProcess: InProcessFigures;
  batches: BatchRecord[];
}

/** Pools one concurrency level's batches into the figures the report shows. */
export function summarizeLevel(
  concurrency: number,
  batches: readonly BatchRecord[],
  samples: ReadonlyMap<BatchRecord, { latenciesMs: readonly number[]; overheadHeaderMs: readonly number[] }>,
  clockTicksPerSecond: number,
): LevelSummary {
  const target = (name: TargetName): TargetSummary => {
    const own = batches.filter((batch) => batch.concurrency === concurrency && batch.target === name);
    const latencies = own.flatMap((batch) => samples.get(batch)?.latenciesMs ?? []);
    const overheads = own.flatMap((batch) => samples.get(batch)?.overheadHeaderMs ?? []);
    const requests = own.reduce((sum, batch) => sum + batch.requests, 0);
    const elapsedMs = own.reduce((sum, batch) => sum + batch.elapsedMs, 0);
    const summary: TargetSummary = {
      requests,
      throughputRps: requests / (elapsedMs / 1000),
      latencyMs: summarize(latencies),
      p50PerRepeatMs: own.map((batch) => batch.latencyMs.p50),
      cpuPerRequest: cpuPerRequest(own, requests, clockTicksPerSecond),
    };
    if (overheads.length > 0) summary.overheadHeaderMs = summarize(overheads);
    return summary;
  };
  const direct = target('direct');
  const gateway = target('gateway');
  const quantiles = ['p50', 'p90', 'p99'] as const;
  const by = (combine: (g: number, d: number) => number) =>
    Object.fromEntries(quantiles.map((q) => [q, combine(gateway.latencyMs[q], direct.latencyMs[q])])) as LevelSummary['addedMs'];
  return { concurrency, direct, gateway, addedMs: by((g, d) => g - d), ratio: by((g, d) => g / d) };
}

function cpuPerRequest(batches: readonly BatchRecord[], requests: number, clockTicksPerSecond: number): CpuPerRequest {
  const elapsedMs = batches.reduce((sum, batch) => sum + batch.elapsedMs, 0);
  const total = (pick: (ticks: BatchCpuTicks) => number) => batches.reduce((sum, batch) => sum + pick(batch.cpuTicks), 0);
  const perRequestUs = (ticks: number) => (ticks * 1e6) / clockTicksPerSecond / requests;
  const ours = total((t) => t.api + t.modelServer + t.benchProcess);
  const machineTotal = total((t) => t.machineTotal);
  return {
    apiUs: perRequestUs(total((t) => t.api)),
    modelServerUs: perRequestUs(total((t) => t.modelServer)),
    benchMainThreadUs: perRequestUs(total((t) => t.benchMainThread)),
    loadGeneratorThreadUs: perRequestUs(total((t) => t.loadGeneratorThread)),
    ourProcessesUs: perRequestUs(ours),
    otherCpus: (total((t) => t.machineBusy) - ours) / clockTicksPerSecond / (elapsedMs / 1000),
    machineBusyPercent: (100 * total((t) => t.machineBusy)) / machineTotal,
    machineStealPercent: (100 * total((t) => t.machineSteal)) / machineTotal,
  };
}
