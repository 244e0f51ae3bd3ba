import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FaultProxy } from '../../local/fault-proxy/fault-proxy';
import { stackClient } from './stack-client';
import { startTestGateway, type TestGateway } from './test-gateway';

const client = stackClient();
const ENDPOINTS = ['left', 'right'] as const;
const REQUESTS = 12;

interface EmfLine {
  endpoint?: string;
  Latency?: number | number[];
  _aws?: { CloudWatchMetrics?: unknown[] };
}

/**
 * One process serving overlapping invocations, as the local API does and as a Lambda Managed
 * Instances worker does: each invocation's log line and metrics must be its own, though the
 * logger and metrics are module-level objects shared by all of them.
 */
describe('overlapping invocations in one process', () => {
  let proxy: FaultProxy;
  let gateway: TestGateway;

  beforeAll(async () => {
    // Every answer comes late, so all requests are in flight at once.
    proxy = await client.faultProxyToOpenAiServer();
    await proxy.setFault({ kind: 'latency', ms: 150 });
    gateway = await startTestGateway({
      version: 1,
      endpoints: ENDPOINTS.map((name) => ({
        name,
        task: 'chat',
        servedEntities: [
          { name: `${name}-gpt`, backend: 'openai', model: 'toy-gpt', baseUrl: `${proxy.url}/v1`, apiKey: { ssmParameter: '/modelgate/local/openai-api-key' } },
        ],
      })),
    });
  });

  afterAll(async () => {
    await gateway?.stop();
    await proxy?.close();
  });

  it('keeps each invocation\'s request id on its own log line and its endpoint on its own metrics', async () => {
    const asked = Array.from({ length: REQUESTS }, (_, index) => ENDPOINTS[index % ENDPOINTS.length]!);
    const answers = await Promise.all(
      asked.map(async (model) => {
        const response = await fetch(`${gateway.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${client.stack.demoApiKey}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Who am I?' }] }),
        });
        await response.arrayBuffer();
        return { model, status: response.status, requestId: response.headers.get('x-request-id') };
      }),
    );
    expect(answers.map((answer) => answer.status)).toEqual(asked.map(() => 200));

    // The log is written by another process, each invocation's EMF line after its log line: wait
    // until every invocation's two lines are there (or the deadline, and the counts below fail).
    const isEmfLine = (line: Record<string, unknown>): line is EmfLine & Record<string, unknown> =>
      (line as EmfLine)._aws?.CloudWatchMetrics !== undefined && 'Latency' in line;
    let lines: Record<string, unknown>[] = [];
    const deadline = Date.now() + 5_000;
    do {
      lines = gateway
        .readLog()
        .split('\n')
        .slice(0, -1) // what follows the last newline is empty or a line still being written
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      if (lines.filter((line) => line.message === 'Invocation').length >= REQUESTS && lines.filter(isEmfLine).length >= REQUESTS) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    } while (Date.now() < deadline);

    const invocationLines = lines.filter((line) => line.message === 'Invocation');
    expect(invocationLines).toHaveLength(REQUESTS);
    const loggedEndpointOf = new Map(invocationLines.map((line) => [line.requestId, line.endpoint]));
    expect(loggedEndpointOf.size).toBe(REQUESTS);
    for (const answer of answers) expect(loggedEndpointOf.get(answer.requestId)).toBe(answer.model);

    // One EMF line per invocation, with one Latency value under its own endpoint's dimension.
    const emfLines = lines.filter(isEmfLine);
    expect(emfLines.map((line) => typeof line.Latency)).toEqual(asked.map(() => 'number'));
    for (const endpoint of ENDPOINTS) {
      expect(emfLines.filter((line) => line.endpoint === endpoint)).toHaveLength(asked.filter((model) => model === endpoint).length);
    }
  });
});
