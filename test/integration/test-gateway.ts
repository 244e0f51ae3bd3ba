import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { inject } from 'vitest';
import { startChild } from '../../local/child-process';

export interface TestGateway {
  url: string;
  /** What the gateway process printed (its log lines), as far as it has been written. */
  readLog(): string;
  stop(): Promise<void>;
}

/**
 * A second local API, with the stack's emulators, keys and model servers but an endpoint config of
 * the test's own (e.g. pointing a served entity at a fault-injecting proxy the test started).
 * It runs the same handler modules, in their own process, like another Lambda container.
 */
export async function startTestGateway(config: unknown, extraEnvironment: Record<string, string> = {}): Promise<TestGateway> {
  const stack = inject('stack');
  const folder = mkdtempSync(join(tmpdir(), 'modelgate-gateway-'));
  const configPath = join(folder, 'endpoints.json');
  writeFileSync(configPath, JSON.stringify(config));
  const logFile = join(folder, 'api.log');
  const child = await startChild({
    name: 'test gateway',
    entry: resolve('local/processes/api.ts'),
    cwd: process.cwd(),
    logFile,
    env: { ...process.env, ...stack.environment, ...extraEnvironment, ENDPOINTS_CONFIG: configPath, MODELGATE_API_PORT: '0' },
  });
  return {
    url: child.url,
    readLog: () => readFileSync(logFile, 'utf8'),
    async stop() {
      await child.stop();
      rmSync(folder, { recursive: true, force: true });
    },
  };
}
