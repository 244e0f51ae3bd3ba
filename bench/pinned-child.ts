import { startChild, type StackChild } from '../local/child-process';

/** A server process a benchmark started, pinned to its CPUs, serving at `url`. */
export interface PinnedChild extends StackChild {
  pid: number;
}

/**
 * Starts `node <nodeArgs>` pinned to `cpus` and waits for the local stack's ready line on stdout,
 * `{"ready":true,"url":...}`, as the stack's own children do (local/child-process.ts).
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
  const child = await startChild(options);
  return { ...child, pid: child.process.pid ?? -1 };
}
