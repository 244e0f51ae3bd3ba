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
import { measureHandlerBlocks, type InvocationBlock } from './handler-in-process';
import { CHAT_WORKLOAD, chatBody } from './chat-workload';
import { commitOf, machineFacts } from './machine-facts';
import { spread } from './stats';

// `npm run bench:warm-up`: how the chat handler's cost per invocation changes over a fresh
// process's life, block by block from its first invocation (bench:compare's in-process loop, c=1,
// everything on). Each round runs it twice in fresh processes: as Node runs it, and with V8's
// optimizing compiler off (`--no-opt`), which tells what of the change is V8 compiling the hot
// path. The figures decide how long the other benchmarks warm up.

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '2' },
    invocations: { type: 'string', default: '6000' },
    block: { type: 'string', default: '500' },
  },
});
const ROUNDS = wholeNumberOption('rounds', args.rounds);
const INVOCATIONS = wholeNumberOption('invocations', args.invocations);
const BLOCK = wholeNumberOption('block', args.block);

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { model: ENDPOINT, path: PATH } = CHAT_WORKLOAD;
const BODY = chatBody();

const VARIANTS = [
  { name: 'as Node runs it', nodeFlags: [] },
  { name: 'optimizing compiler off (`--no-opt`)', nodeFlags: ['--no-opt'] },
] as const;

interface WarmUpResults {
  benchmark: 'warm-up';
  startedAt: string;
  command: string;
  commit: string;
  machine: ReturnType<typeof machineFacts>;
  settings: { rounds: number; invocations: number; block: number };
  loadAverage: { before: number[]; after: number[] };
  runs: Array<{ round: number; variant: string; nodeFlags: readonly string[]; blocks: InvocationBlock[] }>;
}

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const startedAt = new Date();
const dataDir = mkdtempSync(join(tmpdir(), 'modelgate-warm-up-'));
let stack: LocalStack | undefined;

try {
  const machine = machineFacts();
  const loadBefore = loadavg();
  const layout = twoCoreLayout();
  pinProcess(process.pid, layout.rest);
  console.log('warm-up: starting the local stack');
  stack = await startCompareStack({ root: ROOT, dataDir });
  const runs: WarmUpResults['runs'] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    const order = round % 2 === 0 ? VARIANTS : [...VARIANTS].reverse();
    for (const variant of order) {
      const blocks = await measureHandlerBlocks(
        {
          root: ROOT,
          environment: stack.environment,
          timeoutMs: 300_000,
          cpus: layout.underTest,
          nodeFlags: [...variant.nodeFlags],
          // No warm-up: the first block starts at the process's first invocation.
          request: { apiKey: stack.demoApiKey, endpoint: ENDPOINT, path: PATH, body: BODY, warmup: 0, invocations: INVOCATIONS },
        },
        BLOCK,
      );
      runs.push({ round, variant: variant.name, nodeFlags: variant.nodeFlags, blocks });
      const summary = blocks.map((block) => `${block.cpuUs.mean.toFixed(0)}/${block.ownMs.p99.toFixed(1)}`).join(' ');
      console.log(`warm-up: round ${round + 1}/${ROUNDS} ${variant.name}: CPU mean µs / own p99 ms per block: ${summary}`);
    }
  }
  const results: WarmUpResults = {
    benchmark: 'warm-up',
    startedAt: startedAt.toISOString(),
    command: `npm run bench:warm-up -- --rounds ${ROUNDS} --invocations ${INVOCATIONS} --block ${BLOCK}`,
    commit: commitOf(ROOT),
    machine,
    settings: { rounds: ROUNDS, invocations: INVOCATIONS, block: BLOCK },
    loadAverage: { before: loadBefore, after: loadavg() },
    runs,
  };
  console.log(keepRun(ROOT, 'warm-up', startedAt, results, (file) => formatReport(results, file)));
} finally {
  await stack?.stop().catch(() => undefined);
  rmSync(dataDir, { recursive: true, force: true });
}

function formatReport(results: WarmUpResults, file: string): string {
  const { settings, machine } = results;
  // Per variant and block: the median over rounds of each round's figure for that block (every
  // run cuts the same invocations into the same blocks).
  const medianOver = (variant: string, index: number, figure: (block: InvocationBlock) => number) =>
    spread(results.runs.filter((run) => run.variant === variant).map((run) => figure(run.blocks[index]!))).median;
  const rows = (results.runs[0]?.blocks ?? []).map(({ from, invocations }, index) => {
    const cells = VARIANTS.flatMap(({ name }) => [
      medianOver(name, index, (block) => block.cpuUs.mean).toFixed(0),
      medianOver(name, index, (block) => block.ownMs.p50).toFixed(2),
      medianOver(name, index, (block) => block.ownMs.p99).toFixed(2),
      medianOver(name, index, (block) => block.ownOverOneMs).toFixed(0),
    ]);
    return `| ${from + 1}–${from + invocations} | ${cells.join(' | ')} |`;
  });
  return [
    '## A fresh process, invocation by invocation',
    '',
    `\`functions/openai\` in process from its first invocation (bench:compare's in-process loop and chat request, c=1, everything on), ` +
      `${settings.invocations} invocations in blocks of ${settings.block}, pinned to one CPU with the local stack on the other; each round runs it ` +
      'in two fresh processes, as Node runs it and with V8\'s optimizing compiler (TurboFan) off. *own* is wall time minus the backend call minus ' +
      `the wait on the SQS hand-offs, as in bench:compare; *> 1 ms* counts the block's invocations whose own time was over 1 ms. Medians over ${settings.rounds} rounds.`,
    '',
    `Run ${results.startedAt} at ${results.commit}, ${machine.cpuModel}, Node ${machine.node}, load average ` +
      `${results.loadAverage.before[0]?.toFixed(2)} before and ${results.loadAverage.after[0]?.toFixed(2)} after; \`${results.command}\`; raw figures in \`${file}\`.`,
    '',
    `| invocations | ${VARIANTS.map(({ name }) => `${name}: CPU µs (mean) | own p50 (ms) | own p99 (ms) | > 1 ms`).join(' | ')} |`,
    `| --- | ${VARIANTS.map(() => '---: | ---: | ---: | ---:').join(' | ')} |`,
    ...rows,
  ].join('\n');
}
