import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { packageStack } from '../../deploy/package-stack';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Where `serverless package --stage test` wrote the template and the function zips. */
    packageDir: string;
  }
}

/**
 * Packages the stack once for every template test, exactly as `npx serverless package` does
 * (osls and serverless-esbuild from the lockfile, no AWS credentials, no network).
 */
export default async function setup(project: TestProject): Promise<() => void> {
  const packageDir = mkdtempSync(join(tmpdir(), 'modelgate-package-'));
  await packageStack({ root: fileURLToPath(new URL('../..', import.meta.url)), stage: 'test', outputDir: packageDir });
  project.provide('packageDir', packageDir);
  return () => rmSync(packageDir, { recursive: true, force: true });
}
