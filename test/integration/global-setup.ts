import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { ON_FREE_PORTS, startLocalStack, type LocalStack } from '../../local/stack';

/** What integration tests may use of the running stack. */
export type StackInfo = Omit<LocalStack, 'stop' | 'dataDir' | 'pids' | 'emulator'>;

declare module 'vitest' {
  export interface ProvidedContext {
    stack: StackInfo;
  }
}

/**
 * Starts the same local stack `npm start` runs (emulators, model server, API with the real
 * handlers), on free ports and a throw-away data folder, once for all integration files.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const dataDir = mkdtempSync(join(tmpdir(), 'modelgate-it-'));
  const stack = await startLocalStack({
    dataDir,
    ...ON_FREE_PORTS,
    endpointsConfig: 'test/fixtures/endpoints.json',
    modelServerEndpoints: {
      'sentiment-v1': 'sentiment',
      'iris-v1': 'iris',
      'faulty-v1': 'sentiment',
      'chat-llm-v1': 'toy-llm',
      'completions-llm-v1': 'toy-llm',
      'embed-llm-v1': 'toy-embedder',
    },
    // Revocation and suspension tests should not wait out the production cache; async retries
    // back off seconds, not minutes.
    apiEnvironment: { KEY_CACHE_TTL_SECONDS: '0', ASYNC_RETRY_BASE_SECONDS: '1', ASYNC_RETRY_MAX_SECONDS: '2' },
    // Records reach the bucket within a fraction of a second, so tests need not wait for them.
    batchingWindowSeconds: 0.1,
  });
  const { stop: _stop, dataDir: _dataDir, pids: _pids, emulator: _emulator, ...info } = stack;
  project.provide('stack', info);
  return async () => {
    await stack.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
}
