import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startChild, type StackChild } from '../../local/child-process';
import { startModelServer, type ModelServer } from '../../local/model-server/server';

const root = process.cwd();
const logDir = mkdtempSync(join(tmpdir(), 'modelgate-processes-'));
const children: StackChild[] = [];
let modelServer: ModelServer | undefined;

afterAll(async () => {
  await Promise.all(children.map((child) => child.stop()));
  await modelServer?.close();
  rmSync(logDir, { recursive: true, force: true });
});

function start(name: string, entry: string, env: Record<string, string>): Promise<StackChild> {
  return startChild({
    name,
    entry: join(root, 'local/processes', entry),
    cwd: root,
    logFile: join(logDir, `${name}.log`),
    env: { ...process.env, ...env },
    timeoutMs: 20_000,
  }).then((child) => {
    children.push(child);
    return child;
  });
}

describe('the LLM servers as child processes of the local stack', () => {
  it('start from their entry points, announce their URL on the ready line, and serve with the configured key and models', async () => {
    // Prepare
    modelServer = await startModelServer();
    const [openAi, anthropic, proxyControl] = await Promise.all([
      start('openai', 'openai-server.ts', {
        MODELGATE_OPENAI_SERVER_PORT: '0',
        MODELGATE_OPENAI_SERVER_API_KEY: 'sk-child',
        OPENAI_SERVER_MODELS: JSON.stringify({ 'my-gpt': { kind: 'generate' } }),
      }),
      start('anthropic', 'anthropic-server.ts', { MODELGATE_ANTHROPIC_SERVER_PORT: '0', MODELGATE_ANTHROPIC_SERVER_API_KEY: 'sk-ant-child' }),
      start('proxy', 'fault-proxy.ts', { MODELGATE_FAULT_PROXY_TARGET: `127.0.0.1:${modelServer.port}` }),
    ]);

    // Act
    const chat = await fetch(`${openAi.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk-child' },
      body: JSON.stringify({ model: 'my-gpt', messages: [{ role: 'user', content: 'hi' }] }),
    });
    const message = await fetch(`${anthropic.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': 'sk-ant-child', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'toy-claude', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
    });
    const { proxyUrl } = (await (await fetch(`${proxyControl.url}/_stats`)).json()) as { proxyUrl: string };
    const throughProxy = await fetch(`${proxyUrl}/ping`);

    // Assess
    expect(await chat.json()).toMatchObject({ model: 'my-gpt', choices: [{ message: { content: 'You said: hi' } }] });
    expect(await message.json()).toMatchObject({ content: [{ text: 'You said: hi' }] });
    expect(throughProxy.status).toBe(200);
  }, 30_000);

  it('exits with one line naming the problem when misconfigured', async () => {
    // Act
    const starting = start('bad-proxy', 'fault-proxy.ts', { MODELGATE_FAULT_PROXY_TARGET: 'nowhere' });

    // Assess
    await expect(starting).rejects.toThrow('proxy: MODELGATE_FAULT_PROXY_TARGET must be host:port');
  }, 30_000);
});
