import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { installInvokeStore } from '../../../local/invoke-store';
import { loadHandler } from '../../../local/load-handler';

await installInvokeStore({ overlapping: false });

describe('loading a function\'s handler locally', () => {
  const made: string[] = [];
  afterEach(() => {
    vi.unstubAllEnvs();
    for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  function folderWith(files: Record<string, string>): string {
    const dir = mkdtempSync(join(tmpdir(), 'modelgate-load-handler-'));
    made.push(dir);
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(join(dir, path, '..'), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    return dir;
  }

  it('imports the bundle serverless.yml would build when MODELGATE_HANDLER_BUNDLES points at a folder of them', async () => {
    // Prepare
    const bundles = folderWith({ 'functions/greet.mjs': 'export const handler = () => "from the bundle";' });
    vi.stubEnv('MODELGATE_HANDLER_BUNDLES', bundles);
    // Act
    const handler = await loadHandler<() => string>('/nowhere', 'functions/greet.handler');
    // Assess
    expect(handler()).toBe('from the bundle');
  });

  it('imports the TypeScript source from the project root otherwise, and names an export that is missing', async () => {
    const root = folderWith({ 'functions/greet.ts': 'export const handler = (): string => "from the source";' });
    const handler = await loadHandler<() => string>(root, 'functions/greet.handler');
    expect(handler()).toBe('from the source');
    await expect(loadHandler(root, 'functions/greet.missing')).rejects.toThrow(/does not export missing/);
  });
});
