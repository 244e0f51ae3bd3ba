import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build, type BuildOptions } from 'esbuild';
import { parse } from 'yaml';

/** Bytes one package (or our own code) contributes to a bundle. */
export interface PackageShare {
  name: string;
  bytes: number;
}

export interface BundleComposition {
  outputBytes: number;
  /** Largest first. */
  packages: PackageShare[];
}

interface EsbuildSettings {
  bundle?: boolean;
  minify?: boolean;
  sourcemap?: boolean;
  target?: string;
  platform?: 'node';
  format?: 'esm' | 'cjs';
  outputFileExtension?: string;
  banner?: Record<string, string>;
  exclude?: string[];
}

/** The esbuild options serverless-esbuild derives from `custom.esbuild` in serverless.yml. */
export function esbuildOptionsFromServerlessYml(root: string): BuildOptions {
  const document = parse(readFileSync(join(root, 'serverless.yml'), 'utf8')) as { custom?: { esbuild?: EsbuildSettings } };
  const settings = document.custom?.esbuild ?? {};
  const options: BuildOptions = {
    bundle: settings.bundle,
    minify: settings.minify,
    sourcemap: settings.sourcemap,
    target: settings.target,
    platform: settings.platform,
    format: settings.format,
    external: (settings.exclude ?? []).filter((name) => name !== '*'),
  };
  if (settings.banner) options.banner = settings.banner;
  if (settings.outputFileExtension && settings.outputFileExtension !== '.js') options.outExtension = { '.js': settings.outputFileExtension };
  return options;
}

/**
 * Bundles every function serverless.yml declares as its esbuild settings would for a deploy,
 * into `outDir/functions/x.mjs` (what `MODELGATE_HANDLER_BUNDLES` points the local stack at).
 */
export async function buildFunctionBundles(root: string, outDir: string): Promise<void> {
  const document = parse(readFileSync(join(root, 'serverless.yml'), 'utf8')) as { functions?: Record<string, { handler: string }> };
  const modules = Object.values(document.functions ?? {}).map((fn) => fn.handler.slice(0, fn.handler.lastIndexOf('.')));
  await build({
    ...esbuildOptionsFromServerlessYml(root),
    entryPoints: [...new Set(modules)].map((module) => join(root, `${module}.ts`)),
    outdir: outDir,
    outbase: root,
    logLevel: 'warning',
  });
}

/** `node_modules/@aws-sdk/client-s3/dist-es/x.js` → `@aws-sdk/client-s3`; our files → their top folder. */
export function packageOf(inputPath: string): string {
  const parts = inputPath.split('/');
  const last = parts.lastIndexOf('node_modules');
  if (last === -1) return `modelgate ${parts[0]}/`;
  const name = parts[last + 1] ?? '?';
  return name.startsWith('@') ? `${name}/${parts[last + 2] ?? '?'}` : name;
}

/**
 * Bundles one entry point with serverless.yml's esbuild settings and a metafile, and adds up
 * the bytes each package leaves in the minified output.
 */
export async function bundleComposition(root: string, entryPoint: string, options: BuildOptions): Promise<BundleComposition> {
  const result = await build({ ...options, absWorkingDir: root, entryPoints: [entryPoint], outdir: 'out', write: false, metafile: true, logLevel: 'silent' });
  const output = Object.entries(result.metafile.outputs).find(([path]) => !path.endsWith('.map'));
  if (!output) throw new Error(`esbuild produced no bundle for ${entryPoint}`);
  const shares = new Map<string, number>();
  for (const [path, input] of Object.entries(output[1].inputs)) {
    const name = packageOf(path);
    shares.set(name, (shares.get(name) ?? 0) + input.bytesInOutput);
  }
  return {
    outputBytes: output[1].bytes,
    packages: [...shares].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes),
  };
}

/** Families a reader cares about: the AWS SDK, the X-Ray SDK under the tracer, Powertools, ... */
export function familyOf(packageName: string): string {
  if (/^@(aws-sdk|smithy|aws-crypto|aws)\//.test(packageName) || ['fast-xml-parser', 'strnum', 'tslib', 'bowser'].includes(packageName)) return 'AWS SDK v3';
  if (['aws-xray-sdk-core', 'cls-hooked', 'async-hook-jl', 'emitter-listener', 'shimmer', 'stack-chain', 'atomic-batcher', 'semver'].includes(packageName)) {
    return 'X-Ray SDK (under the Powertools tracer)';
  }
  if (packageName.startsWith('@aws-lambda-powertools/')) return 'Powertools';
  if (packageName.startsWith('@middy/')) return 'middy';
  if (packageName.startsWith('modelgate ')) return 'modelgate (functions/, lib/)';
  return packageName;
}
