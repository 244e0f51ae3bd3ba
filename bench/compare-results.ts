import type { CpuLayout } from './cpu-pinning';
import type { InProcessFigures } from './handler-in-process';
import type { MachineFacts } from './machine-facts';
import type { ProfileSummary } from './cpu-profile-summary';
import type { WhatIf } from './processes/what-if';
import type { BatchFigures } from './load';
import { spread, summarize, type Distribution, type Spread } from './stats';

/**
 * The targets of a comparison run, all answering the same OpenAI chat request from the same
 * backend: the backend itself, the plain node:http proxy (the floor), modelgate through the local
 * API (`npm start`'s API Gateway stand-in) and through a thin node:http entry to the same handler,
 * and Portkey's gateway.
 */
export const COMPARE_TARGETS = ['direct', 'proxy', 'modelgate-api', 'modelgate-entry', 'portkey'] as const;
export type CompareTarget = (typeof COMPARE_TARGETS)[number];

/** One load setting every target is measured at, in every repeat. */
export interface CompareLevel {
  name: string;
  concurrency: number;
  /** The backend's added delay (its `delay` fault), 0 for none. */
  backendDelayMs: number;
  /** Each batch runs this long (closed loop: no request starts after it). */
  durationMs: number;
}

/** CPU time spent during one batch, in clock ticks, by who spent it. */
export interface CompareBatchTicks {
  /** The process under test (for `direct`, the backend). */
  target: number;
  backend: number;
  /** The benchmark process: load generator thread, S3/SQS emulator, secrets stand-in. */
  benchProcess: number;
  loadGenerator: number;
  /** The local stack's archiver and digest (draining the audit queue modelgate fills). */
  workers: number;
  /** The CPU the process under test is pinned to: busy and total ticks (all tenants). */
  testCpuBusy: number;
  testCpuTotal: number;
  /** Interrupt time on that CPU (inside testCpuBusy): mostly the loopback network stack of the traffic there. */
  testCpuInterrupts: number;
  /** The other CPUs (load generator, backend, emulator, and other tenants). */
  restCpusBusy: number;
  restCpusTotal: number;
  steal: number;
}

/** One measured batch, as recorded. */
export interface CompareBatch extends BatchFigures {
  level: string;
  target: CompareTarget;
  repeat: number;
  /** Where in its repeat's order this batch ran (0 = first). */
  position: number;
  cpuTicks: CompareBatchTicks;
  /** Set when the batch had a non-2xx answer or a transport error: it is left out of every figure. */
  discarded?: string;
}


export interface TargetLevelSummary {
  /** Batches kept (not discarded). */
  batches: number;
  requests: number;
  /** Every kept sample of every repeat, pooled. */
  latencyMs: Distribution;
  throughputRps: Spread;
  /** CPU of the process under test per answered request, µs. */
  cpuUsPerRequest: Spread;
  backendCpuUsPerRequest: Spread;
  loadGeneratorCpuUsPerRequest: Spread;
  /** The benchmark process minus its load generator thread: the S3/SQS emulator, the secrets stand-in, relaying logs. */
  emulatorCpuUsPerRequest: Spread;
  /** The local archiver and digest (draining the audit queue). */
  workersCpuUsPerRequest: Spread;
  /** How much of its CPU the process under test used during the batch, %. 100 = that CPU was its bottleneck. */
  testCpuUsedPercent: Spread;
  /** How much of the tested CPU went to interrupts (softirq: the kernel's loopback networking), %. */
  testCpuInterruptsPercent: Spread;
  /** How much of the tested CPU other processes (other tenants) used during the batch, %. */
  testCpuOthersPercent: Spread;
  /** Latency this target added over `direct` in the same repeat, ms (absent for `direct`). */
  addedMs?: { p50: Spread; p99: Spread };
}

export interface LevelResults {
  level: CompareLevel;
  targets: Partial<Record<CompareTarget, TargetLevelSummary>>;
}

/** `of` divided by `over`, repeat by repeat (both from the same repeat), at one level. */
export interface PairedRatio {
  level: string;
  measure: 'cpuUsPerRequest' | 'throughputRps' | 'addedP50Ms' | 'addedP99Ms';
  of: CompareTarget;
  over: CompareTarget;
  ratio: Spread;
}

export interface CompareTargetFacts {
  description: string;
  pid: number;
  /** CPU list the process was pinned to, as taskset read it back. */
  cpus: string;
  rssAtStartKb: number;
  peakRssKb: number;
}

export interface CompareResults {
  benchmark: 'compare';
  startedAt: string;
  durationMs: number;
  command: string;
  quick: boolean;
  machine: MachineFacts & { loadAverageAtEnd: number[] };
  versions: Record<string, string>;
  loadGenerator: string;
  cpuLayout: CpuLayout;
  workload: { path: string; body: string; backend: string; modelgateEndpoint: string };
  settings: {
    repeats: number;
    levels: CompareLevel[];
    /** Per target before the first repeat, and per fresh process before each later one: `chunks` × `chunkRequests` requests at c=16, then `c1Ms` at c=1. */
    warmup: { chunks: number; chunkRequests: number; c1Ms: number };
    leadInRequestsPerClient: number;
    /** Targets stopped and started afresh (then warmed up again) before each repeat after the first. */
    freshEachRepeat: CompareTarget[];
    inProcess: { warmup: number; invocations: number };
    inProcessEarly: { warmup: number; invocations: number };
    whatIf: { rounds: number; warmup: number; invocations: number };
  };
  targets: Record<CompareTarget, CompareTargetFacts>;
  /** Backend (the local OpenAI-compatible server) process, shared by every target. */
  backend: { pid: number; cpus: string; peakRssKb: number };
  measuredRequests: number;
  discardedBatches: Array<{ level: string; target: CompareTarget; repeat: number; reason: string }>;
  levels: LevelResults[];
  ratios: PairedRatio[];
  /** Each target's CPU per request (µs) in each warm-up chunk, in order: whether it had levelled off. */
  warmupCpuUsPerRequest: Record<CompareTarget, number[]>;
  /** The same for each target started afresh before a repeat (`settings.freshEachRepeat`). */
  freshWarmups: Array<{ repeat: number; target: CompareTarget; cpuUsPerRequest: number[] }>;
  /** The handler in process once warm (after `settings.inProcess.warmup` invocations). */
  inProcess: InProcessFigures;
  /** The same early in a fresh process's life, while V8 is still compiling its hot path. */
  inProcessEarly: InProcessFigures;
  /** The profiled in-process run: its profile folded, where the raw file was left, and its own CPU per invocation (profiler included). */
  profile: ProfileSummary & { file: string; cpuUsPerInvocation: Distribution };
  /** The in-process handler with parts of its hot path taken away (the first, with none, is their baseline). */
  whatIfs: Array<{ whatIfs: WhatIf[]; round: number; invocations: number; cpuUs: Distribution; wallMs: Distribution; ownMs: Distribution }>;
  batches: CompareBatch[];
}


/** Per-level figures for every target from the kept batches; latencies pooled from their raw samples. */
export function summarizeLevel(
  level: CompareLevel,
  batches: readonly CompareBatch[],
  samples: ReadonlyMap<CompareBatch, number[]>,
  clockTicksPerSecond: number,
): LevelResults {
  const kept = batches.filter((batch) => batch.level === level.name && batch.discarded === undefined);
  const usPerTick = 1_000_000 / clockTicksPerSecond;
  const targets: Partial<Record<CompareTarget, TargetLevelSummary>> = {};
  for (const target of COMPARE_TARGETS) {
    const mine = kept.filter((batch) => batch.target === target);
    if (mine.length === 0) continue;
    const perRequest = (ticks: (batch: CompareBatch) => number) => spread(mine.map((batch) => (ticks(batch) * usPerTick) / batch.requests));
    const summary: TargetLevelSummary = {
      batches: mine.length,
      requests: mine.reduce((sum, batch) => sum + batch.requests, 0),
      latencyMs: summarize(mine.flatMap((batch) => samples.get(batch) ?? [])),
      throughputRps: spread(mine.map((batch) => batch.throughputRps)),
      cpuUsPerRequest: perRequest((batch) => batch.cpuTicks.target),
      backendCpuUsPerRequest: perRequest((batch) => batch.cpuTicks.backend),
      loadGeneratorCpuUsPerRequest: perRequest((batch) => batch.cpuTicks.loadGenerator),
      emulatorCpuUsPerRequest: perRequest((batch) => batch.cpuTicks.benchProcess - batch.cpuTicks.loadGenerator),
      workersCpuUsPerRequest: perRequest((batch) => batch.cpuTicks.workers),
      testCpuUsedPercent: spread(mine.map((batch) => (100 * batch.cpuTicks.target) / ((batch.elapsedMs / 1000) * clockTicksPerSecond))),
      testCpuInterruptsPercent: spread(
        mine.map((batch) => (batch.cpuTicks.testCpuTotal === 0 ? Number.NaN : (100 * batch.cpuTicks.testCpuInterrupts) / batch.cpuTicks.testCpuTotal)),
      ),
      testCpuOthersPercent: spread(
        mine.map((batch) =>
          batch.target === 'direct' || batch.cpuTicks.testCpuTotal === 0
            ? Number.NaN
            : (100 * Math.max(0, batch.cpuTicks.testCpuBusy - batch.cpuTicks.testCpuInterrupts - batch.cpuTicks.target)) / batch.cpuTicks.testCpuTotal,
        ),
      ),
    };
    if (target !== 'direct') {
      const added = (pick: (distribution: Distribution) => number) =>
        spread(
          mine.flatMap((batch) => {
            const direct = kept.find((other) => other.target === 'direct' && other.repeat === batch.repeat);
            return direct ? [pick(batch.latencyMs) - pick(direct.latencyMs)] : [];
          }),
        );
      summary.addedMs = { p50: added((d) => d.p50), p99: added((d) => d.p99) };
    }
    targets[target] = summary;
  }
  return { level, targets };
}

/** `of`/`over` for a measure, paired within each repeat of a level; repeats missing either side are skipped. */
export function pairedRatio(
  level: CompareLevel,
  batches: readonly CompareBatch[],
  measure: PairedRatio['measure'],
  of: CompareTarget,
  over: CompareTarget,
): PairedRatio {
  const kept = batches.filter((batch) => batch.level === level.name && batch.discarded === undefined);
  const value = (batch: CompareBatch): number => {
    const direct = kept.find((other) => other.target === 'direct' && other.repeat === batch.repeat);
    switch (measure) {
      case 'cpuUsPerRequest':
        return batch.cpuTicks.target / batch.requests;
      case 'throughputRps':
        return batch.throughputRps;
      case 'addedP50Ms':
        return direct ? batch.latencyMs.p50 - direct.latencyMs.p50 : Number.NaN;
      case 'addedP99Ms':
        return direct ? batch.latencyMs.p99 - direct.latencyMs.p99 : Number.NaN;
    }
  };
  const ratios: number[] = [];
  for (const numerator of kept.filter((batch) => batch.target === of)) {
    const denominator = kept.find((batch) => batch.target === over && batch.repeat === numerator.repeat);
    if (!denominator) continue;
    const ratio = value(numerator) / value(denominator);
    if (Number.isFinite(ratio)) ratios.push(ratio);
  }
  return { level: level.name, measure, of, over, ratio: spread(ratios) };
}
