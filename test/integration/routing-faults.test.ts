import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FaultProxy } from '../../local/fault-proxy/fault-proxy';
import { stackClient } from './stack-client';
import { startTestGateway, type TestGateway } from './test-gateway';

const client = stackClient();
const MESSAGES = [{ role: 'user', content: 'Is the gateway holding up?' }];
/** The guarded endpoint's whole deadline, and its primary's own attempt limit. */
const DEADLINE_MS = 1_500;
const PRIMARY_TIMEOUT_MS = 400;

/**
 * A fault-injecting TCP proxy sits between the gateway and the OpenAI-compatible server (the
 * primary); Anthropic is the fallback. Faults are real network behaviour on loopback: added
 * latency, connection resets, a black hole.
 */
describe('routing under network faults', () => {
  let proxy: FaultProxy;
  let gateway: TestGateway;

  beforeAll(async () => {
    proxy = await client.faultProxyToOpenAiServer();
    gateway = await startTestGateway({
      version: 1,
      endpoints: [
        {
          name: 'guarded',
          task: 'chat',
          timeoutMs: DEADLINE_MS,
          routing: { retries: 1, backoffMs: 20, breakerFailures: 3, breakerCooldownMs: 1_000 },
          servedEntities: [
            {
              name: 'primary',
              backend: 'openai',
              model: 'toy-gpt',
              baseUrl: `${proxy.url}/v1`,
              apiKey: { ssmParameter: '/modelgate/local/openai-api-key' },
              timeoutMs: PRIMARY_TIMEOUT_MS,
              fallbacks: ['fallback'],
            },
            {
              name: 'fallback',
              backend: 'anthropic',
              model: 'toy-claude',
              baseUrl: client.stack.anthropicServerUrl,
              apiKey: { secretsManager: 'modelgate/local/anthropic-api-key' },
              weight: 0,
            },
          ],
        },
      ],
    });
  });

  afterEach(async () => {
    await proxy.clearFault();
    await client.setProviderFault('openai', 'toy-gpt', undefined);
    await client.setProviderFault('anthropic', 'toy-claude', undefined);
    // Let any breaker a test opened cool down, so tests do not depend on each other.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
  });

  afterAll(async () => {
    await gateway?.stop();
    await proxy?.close();
  });

  async function chat(): Promise<{ status: number; servedBy: string | null; elapsedMs: number; body: Record<string, unknown> }> {
    const started = performance.now();
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${client.stack.demoApiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'guarded', messages: MESSAGES }),
    });
    const body = (await response.json()) as Record<string, unknown>;
    return { status: response.status, servedBy: response.headers.get('x-modelgate-served-entity'), elapsedMs: performance.now() - started, body };
  }

  it('serves from the primary when the network is healthy', async () => {
    const answer = await chat();
    expect([answer.status, answer.servedBy]).toEqual([200, 'primary']);
  });

  it.each([
    ['added latency beyond the primary\'s timeout', { kind: 'latency', ms: 3_000 }],
    ['a connection reset', { kind: 'reset' }],
    ['a black hole', { kind: 'blackhole' }],
  ] as const)('falls back on %s, inside the deadline', async (_name, fault) => {
    // Prepare
    await proxy.setFault(fault);
    // Act
    const answer = await chat();
    // Assess
    expect([answer.status, answer.servedBy]).toEqual([200, 'fallback']);
    expect(answer.elapsedMs).toBeLessThan(DEADLINE_MS + 300);
  });

  it('never runs past the deadline when every entity is slow: 504 at the deadline', async () => {
    await proxy.setFault({ kind: 'blackhole' });
    await client.setProviderFault('anthropic', 'toy-claude', { kind: 'delay', ms: 5_000 });
    const answer = await chat();
    expect(answer.status).toBe(504);
    expect(answer.elapsedMs).toBeGreaterThanOrEqual(DEADLINE_MS - 50);
    expect(answer.elapsedMs).toBeLessThan(DEADLINE_MS + 300);
  });

  it('never retries or falls back on the model\'s own 4xx', async () => {
    // Prepare
    await client.setProviderFault('openai', 'toy-gpt', { kind: 'bad-request' });
    const primaryBefore = await client.providerCalls('openai', 'toy-gpt');
    const fallbackBefore = await client.providerCalls('anthropic', 'toy-claude');
    // Act
    const answer = await chat();
    // Assess
    expect(answer.status).toBe(400);
    expect((answer.body.error as { code: string }).code).toBe('MODEL_REJECTED_INPUT');
    expect((await client.providerCalls('openai', 'toy-gpt')) - primaryBefore).toBe(1);
    expect((await client.providerCalls('anthropic', 'toy-claude')) - fallbackBefore).toBe(0);
  });

  it('opens the primary\'s circuit after repeated failures, stops calling it, and closes it again after a good probe', async () => {
    // Prepare: every attempt on the primary is reset; 2 requests × 2 attempts ≥ 3 failures.
    await proxy.setFault({ kind: 'reset' });
    await chat();
    await chat();
    const acceptedWhileBroken = proxy.stats().accepted;
    // Act: while open, requests go straight to the fallback without touching the primary.
    const whileOpen = await chat();
    const acceptedWhileOpen = proxy.stats().accepted;
    await proxy.clearFault();
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const probe = await chat();
    const afterProbe = await chat();
    // Assess
    expect(whileOpen.servedBy).toBe('fallback');
    expect(acceptedWhileOpen).toBe(acceptedWhileBroken);
    expect(probe.servedBy).toBe('primary');
    expect(afterProbe.servedBy).toBe('primary');
  });
});
