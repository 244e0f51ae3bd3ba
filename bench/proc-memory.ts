import { readFileSync } from 'node:fs';

/** Resident memory of a process, in KiB, from `/proc/<pid>/status`: now (VmRSS) and at its peak (VmHWM). */
export interface ResidentMemory {
  rssKb: number;
  peakRssKb: number;
}

export function residentMemoryOf(pid: number): ResidentMemory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(status);
    if (!match) throw new Error(`/proc/${pid}/status has no ${name}`);
    return Number(match[1]);
  };
  return { rssKb: field('VmRSS'), peakRssKb: field('VmHWM') };
}
