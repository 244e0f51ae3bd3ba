import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { LocalStack } from '../local/stack';
import { wholeNumberOption } from './args';
import { keepRun } from './benchmarks-file';
import { startCompareStack } from './compare-endpoint';
import { pinProcess, twoCoreLayout } from './cpu-pinning';
import { measureHandlerConcurrently, type ConcurrentInProcessFigures } from './handler-in-process';
import { CHAT_WORKLOAD, chatBody } from './chat-workload';
import { commitOf, machineFacts } from './machine-facts';
import type { WhatIf } from './processes/what-if';
import { formatRoundRatio, roundRatio, spread, type RoundRatio } from './stats';

// `npm run bench:what-if`: what each part of the hot path costs when many requests share one
// process (bench:compare's c=64 batches, a Managed Instances worker), found by taking it away.
// The chat handler runs in process at --concurrency N callers (bench:compare's in-process loop,
// everything on), once as it is and once per variant of bench/processes/what-if.ts, in rounds
// whose order rotates by one each round; every variant is compared with the same round's baseline.
// A variant is a measuring device, not a change to modelgate.

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { values: args } = parseArgs({
  options: {
    concurrency: { type: 'string', default: '64' },
    rounds: { type: 'string', default: '4' },
    // Enough for V8 to have compiled the hot path (bench:warm-up: the loop levels off after about 3,500).
    warmup: { type: 'string', default: '4000' },
    invocations: { type: 'string', default: '3000' },
  },
});
const CONCURRENCY = wholeNumberOption('concurrency', args.concurrency);
const ROUNDS = wholeNumberOption('rounds', args.rounds);
const WARMUP = wholeNumberOption('warmup', args.warmup);
const INVOCATIONS = wholeNumberOption('invocations', args.invocations);
if (CONCURRENCY < 2) throw new Error('--concurrency must be at least 2: bench:compare runs the what-ifs one at a time already');

const { model: ENDPOINT, path: PATH } = CHAT_WORKLOAD;
const BODY = chatBody();

/** The baseline first, each part alone, then the parts together. */
const VARIANTS: WhatIf[][] = [
  [],
  ['no-invocation-line'],
  ['no-overlap-store'],
  ['stub-sqs'],
  ['no-invocation-line', 'no-overlap-store'],
  ['no-invocation-line', 'no-overlap-store', 'stub-sqs'],
];

interface VariantRun {
  round: number;
  whatIfs: WhatIf[];
  figures: Pick<ConcurrentInProcessFigures, 'invocations' | 'cpuUsPerInvocation' | 'requestsPerSecond' | 'phaseWallMs' | 'phaseCpuUs'>;
}

interface WhatIfResults {
  benchmark: 'what-if';
  startedAt: string;
  command: string;
  commit: string;
  machine: ReturnType<typeof machineFacts>;
  settings: { concurrency: number; rounds: number; warmup: number; invocations: number };
  loadAverage: { before: number[]; after: number[] };
  runs: VariantRun[];
  /** Per variant: its figure ÷ the same round's baseline, median (min–max) over rounds. */
  ratios: Array<{ whatIfs: WhatIf[]; cpuPerInvocation: Ratio; requestsPerSecond: Ratio }>;
}

type Ratio = RoundRatio;

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const startedAt = new Date();
const dataDir = mkdtempSync(join(tmpdir(), 'modelgate-what-if-'));
let stack: LocalStack | undefined;
const nameOf = (whatIfs: readonly WhatIf[]) => (whatIfs.length === 0 ? 'baseline (everything on)' : whatIfs.map((w) => `\`${w}\``).join(' + '));

try {
  const machine = machineFacts();
  const loadBefore = loadavg();
  const layout = twoCoreLayout();
  pinProcess(process.pid, layout.rest);
  console.log('what-if: starting the local stack');
  stack = await startCompareStack({ root: ROOT, dataDir });
  const runs: VariantRun[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    // The order rotates by one each round, so no variant always runs first (or right after another).
    const order = VARIANTS.map((_, i) => VARIANTS[(i + round) % VARIANTS.length] as WhatIf[]);
    for (const whatIfs of order) {
      const figures = await measureHandlerConcurrently({
        root: ROOT,
        environment: stack.environment,
        timeoutMs: 180_000,
        cpus: layout.underTest,
        request: { apiKey: stack.demoApiKey, endpoint: ENDPOINT, path: PATH, body: BODY, warmup: WARMUP, invocations: INVOCATIONS, concurrency: CONCURRENCY, whatIfs },
      });
      if (figures.failures > 0) throw new Error(`${nameOf(whatIfs)}: ${figures.failures} non-2xx answers (first: ${figures.firstFailure})`);
      const { invocations, cpuUsPerInvocation, requestsPerSecond, phaseWallMs, phaseCpuUs } = figures;
      runs.push({ round, whatIfs, figures: { invocations, cpuUsPerInvocation, requestsPerSecond, phaseWallMs, phaseCpuUs } });
      console.log(`what-if: round ${round + 1}/${ROUNDS} ${nameOf(whatIfs)}: CPU ${cpuUsPerInvocation.toFixed(0)} µs/inv., ${requestsPerSecond.toFixed(0)} req/s`);
    }
  }
  const results: WhatIfResults = {
    benchmark: 'what-if',
    startedAt: startedAt.toISOString(),
    command: `npm run bench:what-if -- --concurrency ${CONCURRENCY} --rounds ${ROUNDS} --warmup ${WARMUP} --invocations ${INVOCATIONS}`,
    commit: commitOf(ROOT),
    machine,
    settings: { concurrency: CONCURRENCY, rounds: ROUNDS, warmup: WARMUP, invocations: INVOCATIONS },
    loadAverage: { before: loadBefore, after: loadavg() },
    runs,
    ratios: VARIANTS.slice(1).map((whatIfs) => ({
      whatIfs,
      cpuPerInvocation: pairedRatio(runs, whatIfs, (f) => f.cpuUsPerInvocation),
      requestsPerSecond: pairedRatio(runs, whatIfs, (f) => f.requestsPerSecond),
    })),
  };
  console.log(keepRun(ROOT, 'what-if', startedAt, results, (file) => formatReport(results, file)));
} finally {
  await stack?.stop().catch(() => undefined);
  rmSync(dataDir, { recursive: true, force: true });
}

function pairedRatio(runs: readonly VariantRun[], whatIfs: readonly WhatIf[], measure: (figures: VariantRun['figures']) => number): Ratio {
  const key = whatIfs.join('+');
  const pairs: Array<[number, number]> = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    const baseline = runs.find((r) => r.round === round && r.whatIfs.length === 0);
    const variant = runs.find((r) => r.round === round && r.whatIfs.join('+') === key);
    if (baseline && variant) pairs.push([measure(variant.figures), measure(baseline.figures)]);
  }
  return roundRatio(pairs);
}

function formatReport(results: WhatIfResults, file: string): string {
  const range = formatRoundRatio;
  const medianOf = (whatIfs: readonly WhatIf[], measure: (figures: VariantRun['figures']) => number) =>
    spread(results.runs.filter((r) => r.whatIfs.join('+') === whatIfs.join('+')).map((r) => measure(r.figures))).median;
  const { settings, machine } = results;
  const rows = VARIANTS.map((whatIfs) => {
    const ratio = results.ratios.find((r) => r.whatIfs.join('+') === whatIfs.join('+'));
    return (
      `| ${nameOf(whatIfs)} | ${medianOf(whatIfs, (f) => f.cpuUsPerInvocation).toFixed(0)} | ${ratio ? range(ratio.cpuPerInvocation) : '—'} | ` +
      `${medianOf(whatIfs, (f) => f.requestsPerSecond).toFixed(0)} | ${ratio ? range(ratio.requestsPerSecond) : '—'} |`
    );
  });
  return [
    `## What the hot path's parts cost at c=${settings.concurrency}, by taking them away`,
    '',
    `\`functions/openai\` in process with ${settings.concurrency} callers at once (bench:compare's in-process loop and chat request, everything on), ` +
      'pinned to one CPU with the local stack on the other; once as it is and once per variant of `bench/processes/what-if.ts`, ' +
      `${settings.rounds} rounds × ${settings.invocations} invocations after ${settings.warmup} warm-up, the order rotating by one each round. ` +
      "CPU is the process's over the measured phase ÷ its invocations. *×* is the variant's figure ÷ the same round's baseline: median (min–max) over rounds; " +
      'the absolute figures are medians over rounds. A variant is a measuring device (it breaks what it takes away), not a change to modelgate.',
    '',
    `Run ${results.startedAt} at ${results.commit}, ${machine.cpuModel}, Node ${machine.node}, load average ` +
      `${results.loadAverage.before[0]?.toFixed(2)} before and ${results.loadAverage.after[0]?.toFixed(2)} after; \`${results.command}\`; raw figures in \`${file}\`.`,
    '',
    '| variant | CPU µs/invocation | × CPU | req/s | × req/s |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...rows,
  ].join('\n');
}
