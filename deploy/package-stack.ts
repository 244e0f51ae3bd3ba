import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Runs `serverless package --stage <stage> --package <outputDir>` with the lockfile's osls and
 * no AWS credentials in the environment (packaging must not need any), for the template tests
 * and the cold-start benchmark. Rejects with the packager's output when it fails.
 */
export function packageStack(options: { root: string; stage: string; outputDir: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [join(options.root, 'node_modules/osls/bin/serverless.js'), 'package', '--stage', options.stage, '--package', options.outputDir],
      { cwd: options.root, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), CI: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
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
}
