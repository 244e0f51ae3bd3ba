import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg, release, type } from 'node:os';
import { clockTicksPerSecond } from './proc-cpu';

/** The machine a benchmark ran on, as its report states it. */
export interface MachineFacts {
  nproc: number;
  cpuModel: string;
  node: string;
  kernel: string;
  loadAverage1m: number;
  clockTicksPerSecond: number;
}

/** Read at the start of a run, so the load average describes the machine before the benchmark's own load. */
export function machineFacts(): MachineFacts {
  const cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? 'unknown';
  return {
    nproc: availableParallelism(),
    cpuModel,
    node: process.version,
    kernel: `${type()} ${release()}`,
    loadAverage1m: loadavg()[0] ?? Number.NaN,
    clockTicksPerSecond: clockTicksPerSecond(),
  };
}

/**
 * The checkout's short commit, marked `(+ uncommitted changes)` when what the benchmarks run
 * (lib/, functions/, local/, bench/ but its results, package.json) differs from it; `unknown` outside a git checkout.
 */
export function commitOf(root: string): string {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    const changed = execFileSync('git', ['status', '--porcelain', '--', 'lib', 'functions', 'local', 'bench', ':!bench/results', 'package.json'], {
      cwd: root,
      encoding: 'utf8',
    }).trim();
    return changed === '' ? commit : `${commit} (+ uncommitted changes)`;
  } catch {
    return 'unknown';
  }
}
