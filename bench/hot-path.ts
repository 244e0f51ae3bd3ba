import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { LocalStack } from '../local/stack';
import { wholeNumberOption } from './args';
import { keepRun, runStamp, writeBenchmarksSection } from './benchmarks-file';
import { startCompareStack } from './compare-endpoint';
import { CHAT_WORKLOAD, chatBody } from './chat-workload';
import { commitOf } from './machine-facts';
import { summarizeCpuProfile } from './cpu-profile-summary';
import { pinProcess, twoCoreLayout } from './cpu-pinning';
import { measureHandlerConcurrently, measureHandlerInProcess, PROFILE_SAMPLING_INTERVAL_US, type ConcurrentInProcessFigures, type InProcessFigures } from './handler-in-process';
import { formatRoundRatio, roundRatio, spread, type RoundRatio } from './stats';

// `npm run bench:hot-path -- --baseline <git ref> --label "what changed"`: the chat handler in
// process (bench/processes/handler-loop.ts, as bench:compare's in-process figure), from this
// checkout and from a git worktree of the baseline, in alternating rounds against one local stack.
// Each round pairs the two, so a change's effect is a ratio from the same minutes of a shared,
// noisy machine. Every run is kept in bench/results/hot-path-*.json and listed in BENCHMARKS.md.
// `--concurrency N` (N > 1) has N callers invoke the handler at once in each loop, as one Node.js
// process serves overlapping requests (Lambda Managed Instances, the local API); the measured
// phase is then measured as a whole (CPU per invocation, req/s) and own time is not measured.
// Both variants then run this checkout's loop (a baseline's own may predate --concurrency); the
// handler, serverless.yml and lib/ stay each variant's own.

const { values: args } = parseArgs({
  options: {
    baseline: { type: 'string' },
    label: { type: 'string', default: '' },
    rounds: { type: 'string', default: '5' },
    // Enough for V8 to have compiled the hot path (bench:warm-up: the loop levels off after about 3,500).
    warmup: { type: 'string', default: '4000' },
    invocations: { type: 'string', default: '400' },
    // Callers invoking the handler at once in each loop; 1 measures every invocation on its own.
    concurrency: { type: 'string', default: '1' },
    // Only rewrite BENCHMARKS.md's section from the runs kept in bench/results/.
    'report-only': { type: 'boolean', default: false },
    // After the rounds, one more run of the current commit under V8's sampling profiler; prints where its CPU goes.
    profile: { type: 'boolean', default: false },
    // The same chat request with `stream: true`: answered as Server-Sent Events relayed from the backend's stream.
    stream: { type: 'boolean', default: false },
  },
});
const ROUNDS = wholeNumberOption('rounds', args.rounds);
const WARMUP = wholeNumberOption('warmup', args.warmup);
const INVOCATIONS = wholeNumberOption('invocations', args.invocations);
const CONCURRENCY = wholeNumberOption('concurrency', args.concurrency);

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { model: ENDPOINT, path: PATH } = CHAT_WORKLOAD;
const BODY = chatBody({ stream: args.stream });

type Variant = 'baseline' | 'current';

interface HotPathRound<Figures> {
  round: number;
  variant: Variant;
  figures: Omit<Figures, 'firstFailure'>;
}

/** current ÷ baseline within each round: median and range over rounds. */
type PairedRatio = RoundRatio;

interface HotPathRunHeader {
  benchmark: 'hot-path';
  startedAt: string;
  command: string;
  label: string;
  commits: Record<Variant, string>;
}

/** A run at concurrency 1 (every run before `--concurrency`): each invocation measured on its own. */
interface OneAtATimeRun extends HotPathRunHeader {
  settings: { rounds: number; warmup: number; invocations: number; stream?: boolean };
  loadAverage: { before: number[]; after: number[] };
  rounds: HotPathRound<InProcessFigures>[];
  ratios: Record<'cpuMeanUs' | 'cpuP50Us' | 'ownP50Ms' | 'ownP99Ms' | 'wallP50Ms', PairedRatio>;
}

/** A run at concurrency > 1: the measured phase as a whole; own time is not measured (invocations overlap). */
interface ConcurrentRun extends HotPathRunHeader {
  settings: { rounds: number; warmup: number; invocations: number; concurrency: number; stream?: boolean };
  loadAverage: { before: number[]; after: number[] };
  rounds: HotPathRound<ConcurrentInProcessFigures>[];
  ratios: Record<'cpuPerInvocationUs' | 'requestsPerSecond' | 'wallP50Ms' | 'wallP99Ms', PairedRatio>;
}

/** One run: what bench/results/hot-path-*.json holds. */
type HotPathResults = OneAtATimeRun | ConcurrentRun;

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const startedAt = new Date();
const stamp = runStamp(startedAt);
const dataDir = mkdtempSync(join(tmpdir(), 'modelgate-hot-path-'));
let stack: LocalStack | undefined;
let worktree: string | undefined;

if (args['report-only']) {
  writeBenchmarksSection(join(ROOT, 'BENCHMARKS.md'), 'hot-path', formatHotPathLog(readAllRuns()));
  process.exit(0);
}

try {
  const loadBefore = loadavg();
  const layout = twoCoreLayout();
  pinProcess(process.pid, layout.rest);
  const commits: Record<Variant, string> = { current: commitOf(ROOT), baseline: '' };
  const roots: Partial<Record<Variant, string>> = { current: ROOT };
  if (args.baseline !== undefined) {
    worktree = join(dataDir, 'baseline');
    git(ROOT, 'worktree', 'add', '--detach', worktree, args.baseline);
    // The baseline runs on this checkout's dependencies (a superset when a change added one).
    symlinkSync(join(ROOT, 'node_modules'), join(worktree, 'node_modules'), 'dir');
    roots.baseline = worktree;
    commits.baseline = commitOf(worktree);
  }

  console.log('hot-path: starting the local stack');
  stack = await startCompareStack({ root: ROOT, dataDir });

  const variants = (Object.keys(roots) as Variant[]).sort();
  const { environment } = stack;
  const loopOptions = (root: string) => ({ root, environment, timeoutMs: 180_000, cpus: layout.underTest });
  const request = { apiKey: stack.demoApiKey, endpoint: ENDPOINT, path: PATH, body: BODY, warmup: WARMUP, invocations: INVOCATIONS };
  const inRounds = async <Figures extends { failures: number; firstFailure?: string }>(
    measure: (root: string) => Promise<Figures>,
    describe: (figures: Figures) => string,
  ): Promise<HotPathRound<Figures>[]> => {
    const rounds: HotPathRound<Figures>[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      // Alternating which goes first, so a drift of the machine within a round favours neither.
      const order = round % 2 === 0 ? variants : [...variants].reverse();
      for (const variant of order) {
        const figures = await measure(roots[variant]!);
        if (figures.failures > 0) throw new Error(`${variant}: ${figures.failures} non-2xx answers (first: ${figures.firstFailure})`);
        rounds.push({ round, variant, figures });
        console.log(`hot-path: round ${round + 1}/${ROUNDS} ${variant.padEnd(8)} ${describe(figures)}`);
      }
    }
    return rounds;
  };
  if (CONCURRENCY > 1) {
    console.log(
      `hot-path: c=${CONCURRENCY}, ${CONCURRENCY} callers at once in each loop: CPU per invocation is the process's CPU over the measured phase ÷ its invocations; ` +
        'own time (wall − backend − SQS hand-off) is not measured, as overlapping invocations share the hand-off wait',
    );
  }
  const measured =
    CONCURRENCY === 1
      ? {
          concurrent: false as const,
          rounds: await inRounds(
            (root) => measureHandlerInProcess({ ...loopOptions(root), request }),
            (figures) =>
              `CPU mean ${figures.cpuUs.mean.toFixed(0)} µs, p50 ${figures.cpuUs.p50.toFixed(0)} µs; ` +
              `own p50 ${figures.ownMs.p50.toFixed(2)} ms, p99 ${figures.ownMs.p99.toFixed(2)} ms; wall p50 ${figures.wallMs.p50.toFixed(2)} ms`,
          ),
        }
      : {
          concurrent: true as const,
          rounds: await inRounds(
            (root) => measureHandlerConcurrently({ ...loopOptions(root), loopRoot: ROOT, request: { ...request, concurrency: CONCURRENCY } }),
            (figures) =>
              `c=${CONCURRENCY}: CPU ${figures.cpuUsPerInvocation.toFixed(0)} µs/inv. (whole phase), ${figures.requestsPerSecond.toFixed(0)} req/s, ` +
              `${figures.sqs.calls === 0 ? 'no SQS calls' : `${(figures.sqs.messages / figures.sqs.calls).toFixed(1)} messages per SQS call`}; ` +
              `wall p50 ${figures.wallMs.p50.toFixed(2)} ms, p99 ${figures.wallMs.p99.toFixed(2)} ms; own time not measured`,
          ),
        };

  if (args.profile) {
    const profileFile = join(tmpdir(), `modelgate-hot-path-${stamp}.cpuprofile`);
    const profiled =
      CONCURRENCY === 1
        ? await measureHandlerInProcess({ ...loopOptions(ROOT), request: { ...request, profileFile } })
        : await measureHandlerConcurrently({ ...loopOptions(ROOT), request: { ...request, profileFile, concurrency: CONCURRENCY } });
    const cpuPerInvocation = 'cpuUs' in profiled ? profiled.cpuUs.mean : profiled.cpuUsPerInvocation;
    const summary = summarizeCpuProfile({ path: profileFile, invocations: profiled.invocations, root: ROOT, samplingIntervalUs: PROFILE_SAMPLING_INTERVAL_US, top: 25 });
    const percent = (share: number) => `${(share * 100).toFixed(1).padStart(5)}%`;
    console.log(
      `hot-path: profile of the current commit (${profiled.invocations} invocations${CONCURRENCY === 1 ? '' : `, c=${CONCURRENCY}`}, ` +
        `CPU mean ${cpuPerInvocation.toFixed(0)} µs), kept at ${profileFile}`,
    );
    for (const group of summary.groups) console.log(`  ${percent(group.share)}  ${group.name}`);
    console.log('  owners:');
    for (const owner of summary.owners.slice(0, 20)) console.log(`  ${percent(owner.share)}  ${owner.name}`);
    console.log('  functions on the CPU:');
    for (const leaf of summary.leafFunctions.slice(0, 25)) console.log(`  ${percent(leaf.share)}  ${leaf.name} (${leaf.component})`);
  }

  const header: HotPathRunHeader = {
    benchmark: 'hot-path',
    startedAt: startedAt.toISOString(),
    command:
      `npm run bench:hot-path --${args.baseline === undefined ? '' : ` --baseline ${args.baseline}`} --label ${JSON.stringify(args.label)} ` +
      `--rounds ${ROUNDS} --warmup ${WARMUP} --invocations ${INVOCATIONS}${CONCURRENCY === 1 ? '' : ` --concurrency ${CONCURRENCY}`}${args.stream ? ' --stream' : ''}`,
    label: args.label,
    commits,
  };
  const loadAverage = { before: loadBefore, after: loadavg() };
  // Keys in the order the JSON files have always had them.
  const results: HotPathResults = measured.concurrent
    ? {
        ...header,
        settings: { rounds: ROUNDS, warmup: WARMUP, invocations: INVOCATIONS, concurrency: CONCURRENCY, ...(args.stream ? { stream: true } : {}) },
        loadAverage,
        rounds: measured.rounds,
        ratios: {
          cpuPerInvocationUs: pairedRatio(measured.rounds, (f) => f.cpuUsPerInvocation),
          requestsPerSecond: pairedRatio(measured.rounds, (f) => f.requestsPerSecond),
          wallP50Ms: pairedRatio(measured.rounds, (f) => f.wallMs.p50),
          wallP99Ms: pairedRatio(measured.rounds, (f) => f.wallMs.p99),
        },
      }
    : {
        ...header,
        settings: { rounds: ROUNDS, warmup: WARMUP, invocations: INVOCATIONS, ...(args.stream ? { stream: true } : {}) },
        loadAverage,
        rounds: measured.rounds,
        ratios: {
          cpuMeanUs: pairedRatio(measured.rounds, (f) => f.cpuUs.mean),
          cpuP50Us: pairedRatio(measured.rounds, (f) => f.cpuUs.p50),
          ownP50Ms: pairedRatio(measured.rounds, (f) => f.ownMs.p50),
          ownP99Ms: pairedRatio(measured.rounds, (f) => f.ownMs.p99),
          wallP50Ms: pairedRatio(measured.rounds, (f) => f.wallMs.p50),
        },
      };
  // A run without a baseline has no ratio to record: it is only printed (e.g. for --profile).
  if (args.baseline !== undefined) {
    // The section is the log of every kept run, this one included (keepRun writes its JSON first).
    keepRun(ROOT, 'hot-path', startedAt, results, () => formatHotPathLog(readAllRuns()));
    console.log(formatHotPathLog([results]));
  }
} finally {
  await stack?.stop().catch(() => undefined);
  if (worktree !== undefined) git(ROOT, 'worktree', 'remove', '--force', worktree);
  rmSync(dataDir, { recursive: true, force: true });
}

function git(cwd: string, ...gitArgs: string[]): string {
  return execFileSync('git', gitArgs, { cwd, encoding: 'utf8' }).trim();
}

function pairedRatio<Figures>(rounds: readonly HotPathRound<Figures>[], measure: (figures: HotPathRound<Figures>['figures']) => number): PairedRatio {
  const pairs: Array<[number, number]> = [];
  for (const round of new Set(rounds.map((r) => r.round))) {
    const of = (variant: Variant) => rounds.find((r) => r.round === round && r.variant === variant)?.figures;
    const current = of('current');
    const baseline = of('baseline');
    if (current && baseline) pairs.push([measure(current), measure(baseline)]);
  }
  return roundRatio(pairs);
}

function readAllRuns(): HotPathResults[] {
  const dir = join(ROOT, 'bench/results');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.startsWith('hot-path-') && name.endsWith('.json'))
    .sort()
    .map((name) => JSON.parse(readFileSync(join(dir, name), 'utf8')) as HotPathResults);
}

function isConcurrentRun(run: HotPathResults): run is ConcurrentRun {
  return 'concurrency' in run.settings;
}

function formatHotPathLog(runs: readonly HotPathResults[]): string {
  const range = formatRoundRatio;
  const medianOf = <Figures>(rounds: readonly HotPathRound<Figures>[], measure: (f: HotPathRound<Figures>['figures']) => number) =>
    spread(rounds.filter((r) => r.variant === 'current').map((r) => measure(r.figures))).median;
  // Ratios are derived from the rounds each time, not read from the file: runs recorded before
  // pairedRatio took a true median stored a nearest-rank one (the lower middle round of an even count).
  const lines = [
    '## Hot path, change by change',
    '',
    "Each row is one `npm run bench:hot-path` run: `functions/openai` called in process with API Gateway events (bench:compare's in-process loop, the chat request of its workload, everything on), from the commit named and from its baseline, in alternating rounds against one local stack, the loop pinned to one CPU and the stack on the other. *×* is current ÷ baseline within each round, median (min–max) over rounds; the absolute figures are medians over rounds of the current commit (with an even number of rounds, the mean of the middle two). *own* is wall time minus the backend call minus the wait on the SQS hand-offs (issue 8's in-process measure). " +
      'Rows marked *c=N* (`--concurrency N`) have N callers invoke the handler at once in the one process, as a Lambda Managed Instances worker or the local API serves overlapping requests: their CPU is the process\'s CPU over the whole measured phase ÷ its invocations, *× req/s* compares invocations per second of wall time and *× wall p50* the per-invocation wall time with N in flight; own time is not measured there (overlapping invocations share the hand-off wait), hence —. ' +
      'Rows marked *stream* (`--stream`) send the same request with `stream: true`, answered as Server-Sent Events. ' +
      'The exact command of each row is in its JSON in `bench/results/`.',
    '',
    '| run | change | baseline → current | rounds × invocations | CPU µs/inv. (mean) | × CPU mean | own p50 / p99 (ms) | × own p50 | × own p99 | × wall p50 | × req/s | load avg |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const run of runs) {
    const baseline = run.commits.baseline === '' ? '—' : run.commits.baseline;
    const measured = isConcurrentRun(run)
      ? [
          `${run.settings.rounds} × ${run.settings.invocations}, c=${run.settings.concurrency}${run.settings.stream ? ', stream' : ''}`,
          medianOf(run.rounds, (f) => f.cpuUsPerInvocation).toFixed(0),
          range(pairedRatio(run.rounds, (f) => f.cpuUsPerInvocation)),
          '—',
          '—',
          '—',
          range(pairedRatio(run.rounds, (f) => f.wallMs.p50)),
          range(pairedRatio(run.rounds, (f) => f.requestsPerSecond)),
        ]
      : [
          `${run.settings.rounds} × ${run.settings.invocations}${run.settings.stream ? ', stream' : ''}`,
          medianOf(run.rounds, (f) => f.cpuUs.mean).toFixed(0),
          range(pairedRatio(run.rounds, (f) => f.cpuUs.mean)),
          `${medianOf(run.rounds, (f) => f.ownMs.p50).toFixed(2)} / ${medianOf(run.rounds, (f) => f.ownMs.p99).toFixed(2)}`,
          range(pairedRatio(run.rounds, (f) => f.ownMs.p50)),
          range(pairedRatio(run.rounds, (f) => f.ownMs.p99)),
          range(pairedRatio(run.rounds, (f) => f.wallMs.p50)),
          '—',
        ];
    lines.push(`| ${[`${run.startedAt.slice(0, 16)}Z`, run.label || '—', `${baseline} → ${run.commits.current}`, ...measured, run.loadAverage.before[0]?.toFixed(1)].join(' | ')} |`);
  }
  return lines.join('\n');
}
