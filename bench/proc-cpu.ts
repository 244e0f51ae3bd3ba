import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Kernel clock ticks per second, the unit of utime/stime in `/proc/<pid>/stat` (usually 100). */
export function clockTicksPerSecond(): number {
  const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
  if (!Number.isInteger(ticks) || ticks <= 0) throw new Error(`getconf CLK_TCK answered ${ticks}`);
  return ticks;
}

/**
 * CPU time (utime + stime, in clock ticks) of a task: a pid (all its threads), `self` (this
 * process) or `thread-self` (only the calling thread).
 */
export function cpuTicksOf(task: number | 'self' | 'thread-self'): number {
  const fields = statFields(readFileSync(`/proc/${task}/stat`, 'utf8'));
  // Fields 14 and 15 of proc(5); the array starts at field 3 (state).
  return Number(fields[11]) + Number(fields[12]);
}

/** Busy and total CPU time of the whole machine (all cores), in clock ticks, from `/proc/stat`. */
export interface MachineCpuTicks {
  busy: number;
  total: number;
  /** Time the hypervisor gave our virtual CPUs to someone else. */
  steal: number;
  /** Hard and soft interrupt time (inside busy): the kernel's network stack on loopback, not charged to any process. */
  interrupts: number;
}

export function machineCpuTicks(): MachineCpuTicks {
  return cpuLineTicks(readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '');
}

/** The same, for each CPU (`cpu0`, `cpu1`, ...), indexed by CPU number. */
export function perCpuTicks(): MachineCpuTicks[] {
  const cpus: MachineCpuTicks[] = [];
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const match = /^cpu(\d+)\s/.exec(line);
    if (match) cpus[Number(match[1])] = cpuLineTicks(line);
  }
  return cpus;
}

function cpuLineTicks(line: string): MachineCpuTicks {
  // cpu user nice system idle iowait irq softirq steal (guest time is already inside user).
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line
    .trim()
    .split(/\s+/)
    .slice(1, 9)
    .map(Number);
  const total = user + nice + system + idle + iowait + irq + softirq + steal;
  return { busy: total - idle - iowait, total, steal, interrupts: irq + softirq };
}

/** Splits a stat line after the command name, which is parenthesised and may contain spaces. */
function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(')') + 2).trim().split(' ');
}
