import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The shipped local endpoint config plus one chat endpoint named after the backend's model, on
 * the `openai` backend pointed at the local OpenAI-compatible server: every benchmark target then
 * gets byte-identical bodies.
 */
export function compareEndpointsConfig(root: string, endpoint: string, backendModel: string, keyParameter: string): unknown {
  const config = JSON.parse(readFileSync(join(root, 'config/endpoints.json'), 'utf8')) as { endpoints: unknown[] };
  config.endpoints.push({
    name: endpoint,
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
