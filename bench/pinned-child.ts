import { startChild, type StackChild } from '../local/child-process';
import { pinProcess } from './cpu-pinning';

/** A server process a benchmark started, pinned to its CPUs, serving at `url`. */
export interface PinnedChild extends StackChild {
  pid: number;
}

/**
 * Starts `node <nodeArgs>`, waits for the local stack's ready line on stdout,
 * `{"ready":true,"url":...}`, as the stack's own children do (local/child-process.ts), then pins it to `cpus`.
 */
export async function startPinnedChild(options: {
  name: string;
  cpus: string;
  nodeArgs: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  logFile: string;
  timeoutMs?: number;
}): Promise<PinnedChild> {
  const { cpus, ...start } = options;
  const child = await startChild(start);
  const pid = child.process.pid ?? -1;
  // Pinned once it serves: every thread it has then, and every one it starts later, stays on `cpus`.
  pinProcess(pid, cpus);
  return { ...child, pid };
}
