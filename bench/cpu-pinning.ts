import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

/**
 * Which CPUs run what in a comparison run: the process under test alone on one, everything that
 * serves or loads it (load generator, backend, emulator) on the other, so the target's own CPU
 * is neither shared with its load nor starved by it. Other tenants of the machine are not ours
 * to pin; their share of each CPU is measured instead.
 */
export interface CpuLayout {
  /** CPU list (taskset syntax) for the process under test. */
  underTest: string;
  /** CPU list for the load generator, the backend and the emulator. */
  rest: string;
}

/** Fails unless taskset (util-linux) exists and the machine has at least two CPUs. */
export function twoCoreLayout(): CpuLayout {
  try {
    execFileSync('taskset', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error('taskset (util-linux) is not installed; the comparison pins processes to CPUs with it');
  }
  const cpus = availableParallelism();
  if (cpus < 2) throw new Error(`the comparison needs 2 CPUs (one for the process under test); this machine has ${cpus}`);
  return { underTest: '0', rest: cpus === 2 ? '1' : `1-${cpus - 1}` };
}

/** Pins every thread of a running process (threads it starts later inherit the mask). */
export function pinProcess(pid: number, cpuList: string): void {
  execFileSync('taskset', ['--all-tasks', '--cpu-list', '--pid', cpuList, String(pid)], { stdio: 'ignore' });
}

/** The CPU list a process is allowed to run on, as taskset reports it. */
export function cpuListOf(pid: number): string {
  const answer = execFileSync('taskset', ['--cpu-list', '--pid', String(pid)], { encoding: 'utf8' });
  return answer.slice(answer.lastIndexOf(':') + 1).trim();
}
