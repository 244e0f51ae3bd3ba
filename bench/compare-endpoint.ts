import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ON_FREE_PORTS, startLocalStack, type LocalStack } from '../local/stack';
import { CHAT_WORKLOAD } from './chat-workload';

/**
 * The shipped local endpoint config plus the workload's chat endpoint, named after the backend's
 * model (`CHAT_WORKLOAD`), on the `openai` backend pointed at the local OpenAI-compatible server:
 * every benchmark target then gets byte-identical bodies.
 */
function compareEndpointsConfig(root: string): unknown {
  const { model: backendModel, keyParameter } = CHAT_WORKLOAD;
  const config = JSON.parse(readFileSync(join(root, 'config/endpoints.json'), 'utf8')) as { endpoints: unknown[] };
  config.endpoints.push({
    name: backendModel,
    description: 'bench: the local OpenAI-compatible server, through the openai backend.',
    task: 'chat',
    timeoutMs: 10_000,
    servedEntities: [
      {
        name: `${backendModel}-openai`,
        backend: 'openai',
        model: backendModel,
        // startLocalStack rewrites this default address to where the server really listens.
        baseUrl: 'http://127.0.0.1:8082/v1',
        apiKey: { ssmParameter: keyParameter },
      },
    ],
  });
  return config;
}

/**
 * The local stack every comparison benchmark runs against: the config above, every server on a
 * port the system picks, and the audit archiver paused (SIGSTOP). The archiver is AWS-side work
 * (its own Lambda), not the request path; left running it would compete with what is measured.
 * Its `stop` resumes the archiver first, so it can stop like the rest.
 */
export async function startCompareStack(options: {
  root: string;
  dataDir: string;
  /** Extra environment for the stack's processes (see `startLocalStack`'s `apiEnvironment`). */
  apiEnvironment?: Record<string, string>;
}): Promise<LocalStack> {
  const endpointsConfig = join(options.dataDir, 'compare-endpoints.json');
  writeFileSync(endpointsConfig, JSON.stringify(compareEndpointsConfig(options.root), null, 2));
  const stack = await startLocalStack({ root: options.root, dataDir: options.dataDir, ...ON_FREE_PORTS, endpointsConfig, apiEnvironment: options.apiEnvironment });
  const workers = stack.pids.workers;
  process.kill(workers, 'SIGSTOP');
  return {
    ...stack,
    stop: async () => {
      try {
        process.kill(workers, 'SIGCONT');
      } catch {
        // It exited meanwhile: nothing left to resume.
      }
      await stack.stop();
    },
  };
}
