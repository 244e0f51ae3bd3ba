import type { ColdStartResults, FunctionColdStart } from './cold-start-results';
import type { Distribution } from './stats';

const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`;
const ms = (value: number) => (value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2));
const spread = (d: Distribution) => `${ms(d.p50)} (${ms(d.min)}–${ms(d.max)})`;

/** The BENCHMARKS.md section (also printed): setup, sizes, cold-start times, what fills the bundles. */
export function formatColdStartReport(results: ColdStartResults): string {
  const { machine, settings } = results;
  const measured = results.functions.filter((fn) => fn.runs.length > 0);
  const invoke = results.functions.find((fn) => fn.name === 'invoke');
  const lines = [
    '## Cold start',
    '',
    `- **Command:** \`${results.command}\` (\`tsx bench/cold-start.ts\`), run ${results.startedAt}, took ${(results.durationMs / 1000).toFixed(0)} s.`,
    `- **Machine:** ${machine.nproc} CPUs (\`nproc\`), ${machine.cpuModel}, ${machine.kernel}; 1-minute load average ` +
      `${machine.loadAverage1m.toFixed(2)} before the run. Shared and noisy; Lambda's arm64 CPUs and Node 22 differ, so read ratios and sizes, not absolute times.`,
    `- **Versions:** ${Object.entries(results.versions).map(([name, version]) => `${name} ${version}`).join(', ')}.`,
    '- **Artifacts:** `serverless package --stage bench` (osls + serverless-esbuild with the settings in serverless.yml: minified ESM, ' +
      'tree-shaken, source maps, every dependency bundled); each zip unpacked as Lambda would. Bundle composition from an esbuild metafile ' +
      `built with the same settings (${results.functions.every((fn) => fn.compositionMatchesPackage) ? 'byte-for-byte the packaged size' : 'NOT the packaged size: see JSON'}).`,
    `- **Method:** per function, ${settings.warmups} discarded + ${settings.repeats} measured cold starts, each in a fresh plain \`node\` process ` +
      `(no tsx)${settings.pinnedCpu === null ? '' : ` pinned to CPU ${settings.pinnedCpu} with \`taskset\``}, functions alternating in order; ` +
      `environment as deployed (\`NODE_OPTIONS=${settings.nodeOptions}\`, Powertools settings) with the local stack's endpoints, tracing off (no X-Ray daemon), ` +
      'and once more without `--enable-source-maps` to show what it costs. ' +
      '*import* = `await import(bundle)` (module evaluation: the cold-start wiring, environment and endpoint config parsing); ' +
      '*first request* = the first `handler(event, context)`; *Node boot* = process start to the import; *wall* = spawn to exit.',
    '',
    '### Bundle size per function',
    '',
    '| function | zip | bundle (.mjs, unzipped) | source map | what dominates the bundle |',
    '| --- | ---: | ---: | ---: | --- |',
    ...results.functions.map(
      (fn) =>
        `| ${fn.name} | ${kb(fn.zipBytes)} | ${kb(fn.bundleBytes)} | ${kb(fn.sourceMapBytes)} | ` +
        `${fn.families.slice(0, 4).map((family) => `${family.name} ${kb(family.bytes)}`).join(', ')} |`,
    ),
    '',
    '### Cold start (ms, p50 and min–max)',
    '',
    '| function | first request | NODE_OPTIONS | n | import | first request | import + first request | Node boot | wall (spawn → exit) |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...measured.flatMap((fn) =>
      fn.runs.map(
        (run, index) =>
          `| ${index === 0 ? fn.name : ''} | ${index === 0 ? fn.workloadLabel : ''} | ${run.nodeOptions === '' ? '(none)' : `\`${run.nodeOptions}\``}` +
          `${index === 0 ? ' (as deployed)' : ''} | ${run.importMs.count} | ${spread(run.importMs)} | ${spread(run.firstRequestMs)} | ` +
          `${spread(run.importAndFirstRequestMs)} | ${spread(run.processStartToImportMs)} | ${spread(run.wallMs)} |`,
      ),
    ),
    ...results.functions.filter((fn) => fn.runs.length === 0).map((fn) => `| ${fn.name} | ${fn.workload} | | 0 | | | | | |`),
    '',
    ...measured.map((fn) => `- **${fn.name}** first request: ${fn.workload}.`),
  ];
  if (invoke) lines.push('', ...compositionSection(invoke), '', ...reading(results, invoke));
  return lines.join('\n');
}

function compositionSection(fn: FunctionColdStart): string[] {
  const top = fn.packages.slice(0, 12);
  return [
    `### What is in the ${fn.name} bundle (${kb(fn.bundleBytes)} minified)`,
    '',
    '| package | bytes in the bundle | share |',
    '| --- | ---: | ---: |',
    ...top.map((share) => `| ${share.name} | ${kb(share.bytes)} | ${((100 * share.bytes) / fn.bundleBytes).toFixed(1)}% |`),
    '',
    `By family: ${fn.families.map((family) => `${family.name} ${kb(family.bytes)} (${((100 * family.bytes) / fn.bundleBytes).toFixed(0)}%)`).join(', ')}.`,
  ];
}

/** Sentences computed from the figures, so they stay true when the benchmark is rerun. */
function reading(results: ColdStartResults, invoke: FunctionColdStart): string[] {
  const sentences: string[] = [];
  const [deployed, withoutMaps] = invoke.runs;
  const notFound = results.functions.find((fn) => fn.name === 'notFound')?.runs[0];
  if (deployed && notFound) {
    sentences.push(
      `Importing the invoke bundle (module evaluation plus the cold-start wiring: environment, endpoint config, five SDK clients) takes ` +
        `${ms(deployed.importMs.p50)} ms at p50 (fastest ${ms(deployed.importMs.min)} ms), against ${ms(notFound.importMs.p50)} ms ` +
        `(fastest ${ms(notFound.importMs.min)} ms) for notFound (no SDK client, no wiring); ` +
        `its first request adds ${ms(deployed.firstRequestMs.p50)} ms (first connections to the emulator and the model server, plain HTTP here ` +
        'and TLS in AWS, the first key lookup, the SDK clients\' lazy set-up), against ' +
        `${ms(notFound.firstRequestMs.p50)} ms for notFound.`,
    );
  }
  if (deployed && withoutMaps) {
    const atP50 = deployed.importMs.p50 - withoutMaps.importMs.p50;
    const atMin = deployed.importMs.min - withoutMaps.importMs.min;
    const figures = `p50 ${ms(deployed.importMs.p50)} vs ${ms(withoutMaps.importMs.p50)} ms, fastest ${ms(deployed.importMs.min)} vs ${ms(withoutMaps.importMs.min)} ms`;
    sentences.push(
      atP50 > 0.05 * withoutMaps.importMs.p50 && atMin > 0
        ? `\`--enable-source-maps\` costs about ${ms(atP50)} ms of import (${figures}): Node reads the ${kb(invoke.sourceMapBytes)} map when the bundle loads.`
        : `\`--enable-source-maps\` made no difference this run could tell from its noise (${figures}).`,
    );
  }
  const zod = invoke.families.find((family) => family.name === 'zod');
  const sdk = invoke.families.find((family) => family.name === 'AWS SDK v3');
  if (zod && sdk) {
    sentences.push(
      `The AWS SDK (${((100 * sdk.bytes) / invoke.bundleBytes).toFixed(0)}%: S3, SQS, SageMaker runtime, SSM and Secrets Manager clients only, with their shared @smithy core) and zod ` +
        `(${((100 * zod.bytes) / invoke.bundleBytes).toFixed(0)}%) dominate the invoke bundle; zod 4's classic \`z\` namespace is not tree-shaken, ` +
        'so its whole API (every locale, JSON Schema conversion) is bundled; `zod/mini` would be the way to shrink it. The X-Ray SDK under the Powertools tracer is most of the notFound bundle.',
    );
  }
  return ['### Reading', '', sentences.join(' ')];
}
