import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { READY_PREFIX } from './processes/ready-line';

export interface StackChild {
  name: string;
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts a TypeScript entry point as a child process (through tsx), or node with the arguments
 * given; waits for its ready line and sends everything else it prints to a log file. The IPC channel lets the child
 * notice when this process goes away, so it never outlives it.
 */
export function startChild(
  options: {
    name: string;
    env: NodeJS.ProcessEnv;
    logFile: string;
    cwd: string;
    timeoutMs?: number;
  } & ({ entry: string; nodeArgs?: never } | { nodeArgs: string[]; entry?: never }),
): Promise<StackChild> {
  const nodeArgs = options.nodeArgs ?? ['--import', 'tsx', options.entry];
  const log = createWriteStream(options.logFile, { flags: 'a' });
  const child = spawn(process.execPath, nodeArgs, {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    log.write(chunk);
  });

  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
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
      reject(new Error(`${options.name} did not start within ${options.timeoutMs ?? 30_000} ms (see ${options.logFile})`));
    }, options.timeoutMs ?? 30_000);
    let ready = false;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!ready && line.startsWith(READY_PREFIX)) {
        ready = true;
        clearTimeout(timer);
        const { url } = JSON.parse(line) as { url: string };
        resolve({ name: options.name, url, process: child, stop });
        return;
      }
      log.write(`${line}\n`);
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`${options.name}: ${error.message}`, { cause: error }));
    });
    child.once('exit', (code) => {
      if (ready) return;
      clearTimeout(timer);
      const reason = stderr.trim().split('\n').at(-1) || `exited with code ${code}`;
      reject(new Error(`${options.name}: ${reason}`));
    });
  });
}
