import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { READY_PREFIX } from '../local/processes/ready-line';

/** A server process the comparison started, pinned to its CPUs, serving at `url`. */
export interface PinnedChild {
  name: string;
  url: string;
  pid: number;
  process: ChildProcess;
  /** SIGTERM, then SIGKILL after 3 s; resolves once it has exited. */
  stop(): Promise<void>;
}

/**
 * Starts `node <nodeArgs>` under `taskset --cpu-list <cpus>` (taskset execs node, so the pid is
 * node's) and waits for the local stack's ready line on stdout, `{"ready":true,"url":...}`.
 * Everything else it prints goes to `logFile`.
 */
export function startPinnedChild(options: {
  name: string;
  cpus: string;
  nodeArgs: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  logFile: string;
  timeoutMs?: number;
}): Promise<PinnedChild> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const log = createWriteStream(options.logFile, { flags: 'a' });
  const child = spawn('taskset', ['--cpu-list', options.cpus, process.execPath, ...options.nodeArgs], {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    log.write(chunk);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(killer);
    }
    log.end();
  };

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`${options.name} did not start within ${timeoutMs} ms (see ${options.logFile})`));
    }, timeoutMs);
    let ready = false;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!ready && line.startsWith(READY_PREFIX)) {
        ready = true;
        clearTimeout(timer);
        const { url } = JSON.parse(line) as { url: string };
        resolve({ name: options.name, url, pid: child.pid ?? -1, process: child, stop });
        return;
      }
      log.write(`${line}\n`);
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code, signal) => {
      if (ready) return;
      clearTimeout(timer);
      reject(new Error(`${options.name} exited (${signal ?? `code ${code}`}) before it was ready: ${stderr.trim().split('\n').at(-1) ?? ''}`));
    });
  });
}
