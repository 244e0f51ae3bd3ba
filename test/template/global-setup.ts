import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Where `serverless package --stage test` wrote the template and the function zips. */
    packageDir: string;
  }
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const TEMPLATE_STAGE = 'test';

/**
 * Packages the stack once for every template test, exactly as `npx serverless package` does
 * (osls and serverless-esbuild from the lockfile, no AWS credentials, no network).
 */
export default async function setup(project: TestProject): Promise<() => void> {
  const packageDir = mkdtempSync(join(tmpdir(), 'modelgate-package-'));
  await new Promise<void>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [join(ROOT, 'node_modules/osls/bin/serverless.js'), 'package', '--stage', TEMPLATE_STAGE, '--package', packageDir],
      // No credentials at all: packaging must not need them.
      { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), CI: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`serverless package exited with ${code}:\n${output.trim()}`));
    });
  });
  project.provide('packageDir', packageDir);
  return () => rmSync(packageDir, { recursive: true, force: true });
}
