import type { CompareResults, CompareTarget, LevelResults, PairedRatio, TargetLevelSummary } from './compare-results';
import { COMPARE_TARGETS } from './compare-results';
import { spread, type Spread } from './stats';
import type { Share } from './cpu-profile-summary';
import type { Distribution } from './stats';

const LABELS: Record<CompareTarget, string> = {
  direct: 'direct',
  proxy: 'plain proxy',
  'modelgate-api': 'modelgate (local API)',
  'modelgate-entry': 'modelgate (thin entry)',
  portkey: 'Portkey',
};
const MODELGATES = ['modelgate-api', 'modelgate-entry'] as const;

/** One of issue 8's targets, judged from this run. */
interface Verdict {
  target: string;
  figure: string;
  value: number;
  limit: number;
  /** `max`: value must be ≤ limit; `min`: value must be ≥ limit. */
  kind: 'max' | 'min';
  unit: string;
  meets: boolean;
  /** How far off: value/limit for `max`, limit/value for `min` (≤ 1 when met). */
  factor: number;
}

/** The BENCHMARKS.md section (also printed): setup, verdicts, tables, profile and a reading. */
export function formatCompareReport(results: CompareResults): string {
  const { machine, settings } = results;
  const level = (name: string) => results.levels.find((entry) => entry.level.name === name);
  const verdicts = judge(results);
  const othersDuring = (targets: readonly CompareTarget[]) =>
    spread(results.levels.flatMap((entry) => targets.flatMap((target) => entry.targets[target]?.testCpuOthersPercent.values ?? []))).median;
  const lines = [
    '## modelgate against the floor and Portkey',
    '',
    `- **Command:** \`${results.command}\` (\`tsx bench/compare.ts\`), run ${results.startedAt}, took ${(results.durationMs / 1000).toFixed(0)} s.`,
    `- **Machine:** ${machine.nproc} CPUs (\`nproc\`), ${machine.cpuModel}, ${machine.kernel}, Node ${machine.node}. ` +
      `1-minute load average ${machine.loadAverage1m.toFixed(2)} before the run and ${(machine.loadAverageAtEnd[0] ?? Number.NaN).toFixed(2)} at its end ` +
      `(5-minute: ${(machine.loadAverageAtEnd[1] ?? Number.NaN).toFixed(2)}). The machine was shared with other engineers' test runs: other ` +
      `processes took a median ${fixed(othersDuring(['proxy', 'modelgate-api', 'modelgate-entry', 'portkey']), 0)}% of the tested CPU during the ` +
      `batches (${fixed(othersDuring(MODELGATES), 0)}% during modelgate's, ${fixed(othersDuring(['portkey']), 0)}% during Portkey's). Read ratios, not absolute numbers.`,
    `- **Versions:** ${Object.entries(results.versions).map(([name, version]) => `${name} ${version}`).join(', ')}.`,
    `- **Workload:** \`POST ${results.workload.path}\` with \`${results.workload.body}\` (byte-identical for every target), answered by the ` +
      `${results.workload.backend}. modelgate serves it as endpoint \`${results.workload.modelgateEndpoint}\` (task \`chat\`, one served entity on the ` +
      '`openai` backend pointed at the same server, key from the SSM stand-in) with everything on: API-key auth (DynamoDB key store, cached), validation, ' +
      'limits, routing, the audit record (with the usage event riding along) handed off to SQS (the fauxqs emulator) before answering, the log line and metrics.',
    '- **Targets:**',
    ...COMPARE_TARGETS.map((target) => `  - *${LABELS[target]}*: ${results.targets[target].description}.`),
    `- **Method:** each process under test pinned with \`taskset\` to CPU ${results.cpuLayout.underTest}; the load generator, the backend, the S3/SQS ` +
      `emulator and the rest of the local stack to CPU ${results.cpuLayout.rest}. A discarded warm-up per target (${settings.warmup.chunks} × ` +
      `${settings.warmup.chunkRequests} requests at c=16, then ${settings.warmup.c1Ms} ms at c=1; each chunk's CPU per request is under "Warm-up" ` +
      `below), then ${settings.repeats} repeats; in each repeat, for each level, every target runs one batch, interleaved (never in blocks; the ` +
      `order rotates by one target per repeat). ${freshProcesses(results)}Right before each batch, ${settings.leadInRequestsPerClient} unmeasured requests per client (connections to ` +
      'the backend open again after idling). ' +
      `Batches are closed-loop and bounded by time (${settings.levels.map((entry) => `${entry.name} ${entry.durationMs} ms`).join(', ')}); ` +
      'latency is send to last byte. CPU per request is utime+stime of the process under test (for *direct*, the backend) from ' +
      '`/proc/<pid>/stat` around each batch, divided by the answers. Ratios are taken within a repeat and reported as median (min–max) over ' +
      `repeats. ${results.measuredRequests} measured requests; ${results.discardedBatches.length} batch(es) discarded for a non-2xx answer` +
      (results.discardedBatches.length > 0
        ? ` (${results.discardedBatches.map((batch) => `${batch.target} ${batch.level} repeat ${batch.repeat + 1}: ${batch.reason}`).join('; ')})`
        : '') +
      '.',
    `- **Load generator:** ${results.loadGenerator}.`,
    '',
    '### Issue 8 targets, today',
    '',
    '| target | figure | today | meets? | off by |',
    '| --- | --- | ---: | :---: | ---: |',
    ...verdicts.map(
      (verdict) =>
        `| ${verdict.target} | ${verdict.figure} | ${fixed(verdict.value, 2)}${verdict.unit === '×' ? '×' : ` ${verdict.unit}`} | ` +
        `${verdict.meets ? 'yes' : '**no**'} | ${verdict.meets ? '—' : `${fixed(verdict.factor, 1)}×`} |`,
    ),
    '',
    '"off by" is how many times too large (or, for throughput, too small) the figure is for the target.',
    '',
    '### Added latency over direct (ms, paired within each repeat)',
    '',
    '| level | target | added p50 | added p99 | p50 | p99 | req/s |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
    ...results.levels.flatMap((entry) => latencyRows(entry)),
    '',
    '### CPU per request and saturation',
    '',
    'CPU per request is the process under test alone (the backend, load generator and emulator are on the other CPU). *used* is the share of ' +
      'its CPU the process under test kept busy; *irq* the share that went to interrupts (softirq: the kernel’s loopback networking for the ' +
      'traffic on that CPU, charged to no process, so not in CPU µs/request); *others* the share other processes took. With the 20 ms ' +
      'backend delay the targets idle most of the time, so their CPU rests on a few clock ticks: those rows are only in the JSON.',
    '',
    '| level | target | CPU µs/request | × proxy | × Portkey | req/s | × Portkey | used % | irq % | others % |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...results.levels.filter((entry) => entry.level.backendDelayMs === 0).flatMap((entry) => cpuRows(entry, results.ratios)),
    '',
    saturationNote(level('c64')),
    '',
    'On the other CPU, per request (µs, median over repeats): what each target costs the backend, the load generator and the emulator ' +
      "(the benchmark process minus its load generator: fauxqs S3/SQS, the SSM stand-in, log relay). The local audit archiver is paused " +
      "(SIGSTOP) for the whole run: it is AWS-side work that would otherwise catch up during other targets' batches.",
    '',
    '| level | target | backend | load generator | emulator |',
    '| --- | --- | ---: | ---: | ---: |',
    ...results.levels
      .filter((entry) => entry.level.name === 'c16' || entry.level.name === 'c64')
      .flatMap((entry) =>
        COMPARE_TARGETS.flatMap((target) => {
          const summary = entry.targets[target];
          if (!summary) return [];
          return [
            `| ${entry.level.name} | ${LABELS[target]} | ${fixed(summary.backendCpuUsPerRequest.median, 0)} | ${fixed(summary.loadGeneratorCpuUsPerRequest.median, 0)} | ` +
              `${fixed(summary.emulatorCpuUsPerRequest.median, 0)} |`,
          ];
        }),
      ),
    '',
    '### Memory',
    '',
    '| target | RSS after start (MiB) | peak RSS over the run (MiB) |',
    '| --- | ---: | ---: |',
    ...COMPARE_TARGETS.filter((target) => target !== 'direct').map(
      (target) => `| ${LABELS[target]} | ${mib(results.targets[target].rssAtStartKb)} | ${mib(results.targets[target].peakRssKb)} |`,
    ),
    `| backend (serves every target) | ${mib(results.targets.direct.rssAtStartKb)} | ${mib(results.backend.peakRssKb)} |`,
    '',
    `### Warm-up (CPU µs per request of each chunk of ${settings.warmup.chunkRequests} requests at c=16, in order)`,
    '',
    'Whether each target had levelled off before the first repeat: V8 compiles a process\'s hot path over its first few thousand requests, and a ' +
      'process still compiling spends more per request. These chunks are not in any figure above.',
    '',
    `| target | ${results.warmupCpuUsPerRequest.direct.map((_, index) => `${index + 1}`).join(' | ')} |`,
    `| --- | ${results.warmupCpuUsPerRequest.direct.map(() => '---:').join(' | ')} |`,
    ...COMPARE_TARGETS.map((target) => `| ${LABELS[target]} | ${results.warmupCpuUsPerRequest[target].map((us) => fixed(us, 0)).join(' | ')} |`),
    '',
    `### The handler in process (what Lambda bills; ${results.inProcess.invocations} invocations after ${settings.inProcess.warmup} warm-up, c=1)`,
    '',
    '`functions/openai` (its TypeScript sources, through tsx) called in a loop with API Gateway proxy events (`bench/processes/handler-loop.ts`), no HTTP in front, pinned to the tested ' +
      'CPU. *own time* is wall time minus the backend call as the handler logs it (`backendLatencyMs`) minus the time `SQSClient.send` calls were in ' +
      'flight (the audit and usage hand-offs, timed by wrapping `send` in that process). The last two rows are a second, fresh process measured ' +
      `early in its life (invocations ${settings.inProcessEarly.warmup + 1}–${settings.inProcessEarly.warmup + settings.inProcessEarly.invocations}), ` +
      'while V8 is still compiling the hot path: what a container that has served few requests pays.',
    '',
    '| measure | p50 | p90 | p99 | mean |',
    '| --- | ---: | ---: | ---: | ---: |',
    distributionRow('wall time, backend and hand-offs included (ms)', results.inProcess.wallMs),
    distributionRow('**own time**: wall − backend − hand-off wait (ms)', results.inProcess.ownMs),
    distributionRow('backend call, logged `backendLatencyMs` (ms)', results.inProcess.loggedBackendMs),
    distributionRow('audit + usage hand-off wait, SQS sends in flight (ms)', results.inProcess.handoffMs),
    distributionRow('`x-modelgate-overhead-ms` (time outside the backend, hand-offs included)', results.inProcess.overheadHeaderMs),
    distributionRow('CPU per invocation, `process.cpuUsage()` (µs)', results.inProcess.cpuUs, 0),
    distributionRow(`own time, early in a fresh process (ms)`, results.inProcessEarly.ownMs),
    distributionRow(`CPU per invocation, early in a fresh process (µs)`, results.inProcessEarly.cpuUs, 0),
    '',
    profileSection(results),
    '',
    whatIfSection(results),
    '',
    '### Reading',
    '',
    reading(results, verdicts),
  ];
  return lines.join('\n');
}

/** Issue 8's targets against this run's figures, for both modelgate entries. */
function judge(results: CompareResults): Verdict[] {
  const ratio = (level: string, measure: PairedRatio['measure'], of: CompareTarget, over: CompareTarget) =>
    results.ratios.find((entry) => entry.level === level && entry.measure === measure && entry.of === of && entry.over === over)?.ratio.median ?? Number.NaN;
  const verdict = (target: string, figure: string, value: number, limit: number, kind: 'max' | 'min', unit: string): Verdict => ({
    target,
    figure,
    value,
    limit,
    kind,
    unit,
    meets: kind === 'max' ? value <= limit : value >= limit,
    factor: kind === 'max' ? value / limit : limit / value,
  });
  const c1 = results.levels.find((entry) => entry.level.name === 'c1');
  return [
    ...MODELGATES.flatMap((of) =>
      ['c16', 'c64'].map((level) =>
        verdict('CPU per request ≤ 0.5× Portkey', `${LABELS[of]}, ${level}`, ratio(level, 'cpuUsPerRequest', of, 'portkey'), 0.5, 'max', '×'),
      ),
    ),
    ...MODELGATES.flatMap((of) =>
      ['c16', 'c64'].map((level) =>
        verdict('CPU per request ≤ 3× plain proxy', `${LABELS[of]}, ${level}`, ratio(level, 'cpuUsPerRequest', of, 'proxy'), 3, 'max', '×'),
      ),
    ),
    ...MODELGATES.map((of) =>
      verdict('Saturated req/s at c=64 ≥ 2× Portkey', LABELS[of], ratio('c64', 'throughputRps', of, 'portkey'), 2, 'min', '×'),
    ),
    ...MODELGATES.map((of) => verdict('Added p99 at c=1 ≤ 2 ms', LABELS[of], c1?.targets[of]?.addedMs?.p99.median ?? Number.NaN, 2, 'max', 'ms')),
    verdict('In-process handler p99 ≤ 1 ms (excl. backend, hand-offs)', `own time p99, after ${results.settings.inProcess.warmup} warm-up`, results.inProcess.ownMs.p99, 1, 'max', 'ms'),
  ];
}

function latencyRows(entry: LevelResults): string[] {
  return COMPARE_TARGETS.flatMap((target) => {
    const summary = entry.targets[target];
    if (!summary) return [`| ${entry.level.name} | ${LABELS[target]} | (every batch discarded) | | | | |`];
    const added = summary.addedMs;
    return [
      `| ${entry.level.name} | ${LABELS[target]} | ${added ? spreadText(added.p50, 2) : '—'} | ${added ? spreadText(added.p99, 2) : '—'} | ` +
        `${fixed(summary.latencyMs.p50, 2)} | ${fixed(summary.latencyMs.p99, 2)} | ${fixed(summary.throughputRps.median, 0)} |`,
    ];
  });
}

function cpuRows(entry: LevelResults, ratios: readonly PairedRatio[]): string[] {
  const ratio = (measure: PairedRatio['measure'], of: CompareTarget, over: CompareTarget) =>
    ratios.find((candidate) => candidate.level === entry.level.name && candidate.measure === measure && candidate.of === of && candidate.over === over)?.ratio;
  return COMPARE_TARGETS.flatMap((target) => {
    const summary: TargetLevelSummary | undefined = entry.targets[target];
    if (!summary) return [];
    const overProxy = ratio('cpuUsPerRequest', target, 'proxy');
    const overPortkey = ratio('cpuUsPerRequest', target, 'portkey');
    const rpsOverPortkey = ratio('throughputRps', target, 'portkey');
    return [
      `| ${entry.level.name} | ${LABELS[target]}${target === 'direct' ? ' (backend)' : ''} | ${spreadText(summary.cpuUsPerRequest, 0)} | ` +
        `${overProxy ? spreadText(overProxy, 2) : '—'} | ${overPortkey ? spreadText(overPortkey, 2) : '—'} | ` +
        `${fixed(summary.throughputRps.median, 0)} | ${rpsOverPortkey ? spreadText(rpsOverPortkey, 2) : '—'} | ` +
        `${fixed(summary.testCpuUsedPercent.median, 0)} | ${target === 'direct' ? '—' : fixed(summary.testCpuInterruptsPercent.median, 0)} | ` +
        `${target === 'direct' ? '—' : fixed(summary.testCpuOthersPercent.median, 0)} |`,
    ];
  });
}

function saturationNote(c64: LevelResults | undefined): string {
  if (!c64) return '';
  const parts = COMPARE_TARGETS.filter((target) => target !== 'direct').map((target) => {
    const summary = c64.targets[target];
    if (!summary) return `${LABELS[target]}: no kept batch`;
    const used = summary.testCpuUsedPercent.median;
    const others = summary.testCpuOthersPercent.median;
    const irq = summary.testCpuInterruptsPercent.median;
    const split = `${fixed(used, 0)}% it, ${fixed(irq, 0)}% irq, ${fixed(others, 0)}% others`;
    // A target that leaves its CPU idle sees other processes fill it, so "full" alone does not mean CPU-bound.
    const bound = used >= 75 ? `CPU-bound (${split})` : `not CPU-bound (${split}): its req/s is a lower bound`;
    return `${LABELS[target]} ${fixed(summary.throughputRps.median, 0)} req/s, ${bound}`;
  });
  const direct = c64.targets.direct;
  const sideUs = direct ? direct.backendCpuUsPerRequest.median + direct.loadGeneratorCpuUsPerRequest.median : Number.NaN;
  return (
    `At c=64: ${parts.join('; ')}. The load generator and the backend share the other CPU and need about ${fixed(sideUs, 0)} µs ` +
    `per request between them (c=64, direct), so nothing above roughly ${fixed(1_000_000 / sideUs, 0)} req/s can be measured here: ` +
    'a target that is not CPU-bound at c=64 is held back by that side or by its own latency chain.'
  );
}

function profileSection(results: CompareResults): string {
  const { profile, inProcess } = results;
  const cpuUs = inProcess.cpuUs.mean;
  const row = (share: Share, extra = '') => `| ${share.name.startsWith('(') || extra ? share.name : `\`${share.name}\``}${extra} | ${fixed(100 * share.share, 1)} | ${fixed(share.share * cpuUs, 0)} |`;
  return [
    `### Where the handler's time goes (V8 CPU profile, ${profile.invocations} invocations)`,
    '',
    "A second in-process run under V8's sampling profiler (the one `--cpu-prof` drives, started through `node:inspector` after the warm-up so " +
      `start-up and warm-up are left out; ${profile.samplingIntervalUs} µs interval, ${profile.busySamples} busy samples). Shares are of busy samples ` +
      '(counted, not weighted by the time between them, because a preempted thread would otherwise charge the time it was off the CPU to the ' +
      'syscall it stopped in). *≈ µs* is the share times the unprofiled run\'s mean CPU per invocation ' +
      `(${fixed(cpuUs, 0)} µs). A sample belongs to the innermost frame that is not Node's own (undici and the async hooks count as their own ` +
      `owners), so Node internals are charged to the library that called them. Raw profile, outside the repository: \`${profile.file}\`.`,
    '',
    '| group | share % | ≈ µs/invocation |',
    '| --- | ---: | ---: |',
    ...profile.groups.map((share) => row(share, '')),
    '',
    '| owner (package or folder) | share % | ≈ µs/invocation |',
    '| --- | ---: | ---: |',
    ...profile.owners.filter((share) => share.share >= 0.01).map((share) => row(share)),
    '',
    '| function on the CPU | share % | ≈ µs/invocation |',
    '| --- | ---: | ---: |',
    ...profile.leafFunctions.slice(0, 15).map((share) => `| \`${share.name.replace(/\|/g, '\\|')}\` (${share.component}) | ${fixed(100 * share.share, 1)} | ${fixed(share.share * cpuUs, 0)} |`),
  ].join('\n');
}

function whatIfSection(results: CompareResults): string {
  if (results.whatIfs.length === 0) return '';
  const names: Record<string, string> = {
    'stub-sqs': '`SQSClient.send` answering at once (no audit hand-off work; the usage event rides with it)',
  };
  const variants = [...new Set(results.whatIfs.map((entry) => entry.whatIfs.join('+')))];
  const { rounds, invocations } = results.settings.whatIf;
  return [
    `### What-if: the handler in process with parts of its hot path taken away (${rounds} round(s) × ${invocations} invocations per variant)`,
    '',
    'Each variant in a fresh process, same stack, same pinning (`bench/processes/what-if.ts`); every round runs a baseline first and then ' +
      'the variants. These measure what a part costs by taking it away; they are not changes to modelgate. *saved* is paired with the ' +
      "same round's baseline: median (min–max) over rounds.",
    '',
    '| variant | CPU µs/invocation (mean) | saved CPU per invocation | wall p50 (ms) |',
    '| --- | ---: | ---: | ---: |',
    ...variants.map((key) => {
      const runs = results.whatIfs.filter((entry) => entry.whatIfs.join('+') === key);
      const label = key === '' ? 'baseline (everything on)' : key.split('+').map((name) => names[name] ?? name).join(' + ');
      const savedPercent = spread(
        runs.flatMap((run) => {
          const baseline = results.whatIfs.find((entry) => entry.round === run.round && entry.whatIfs.length === 0);
          return baseline && key !== '' ? [(100 * (baseline.cpuUs.mean - run.cpuUs.mean)) / baseline.cpuUs.mean] : [];
        }),
      );
      const cpu = spread(runs.map((run) => run.cpuUs.mean));
      return `| ${label} | ${spreadText(cpu, 0)} | ${key === '' ? '—' : `${spreadText(savedPercent, 0)} %`} | ${spreadText(spread(runs.map((run) => run.wallMs.p50)), 2)} |`;
    }),
  ].join('\n');
}

function reading(results: CompareResults, verdicts: readonly Verdict[]): string {
  const missed = verdicts.filter((verdict) => !verdict.meets);
  const summary =
    missed.length === 0
      ? 'modelgate meets every target of issue 8 in this run.'
      : `modelgate meets ${verdicts.length - missed.length} of the ${verdicts.length} checks above; the closest miss is ` +
        `${closest(missed)}.`;
  const top = results.profile.groups.slice(0, 4).map((group) => `${group.name} ${fixed(100 * group.share, 0)}%`);
  return `${summary} The handler's CPU goes first to: ${top.join('; ')}. The analysis under this section is written by hand for the run it names.`;
}

function closest(missed: readonly Verdict[]): string {
  const best = [...missed].sort((a, b) => a.factor - b.factor)[0];
  return best ? `${best.target} (${best.figure}), ${fixed(best.factor, 1)}× off` : 'none';
}

function distributionRow(label: string, distribution: Distribution, digits = 2): string {
  return `| ${label} | ${fixed(distribution.p50, digits)} | ${fixed(distribution.p90, digits)} | ${fixed(distribution.p99, digits)} | ${fixed(distribution.mean, digits)} |`;
}

function spreadText(value: Spread, digits: number): string {
  if (value.values.length === 0) return '—';
  return value.values.length === 1 ? fixed(value.median, digits) : `${fixed(value.median, digits)} (${fixed(value.min, digits)}–${fixed(value.max, digits)})`;
}

function fixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}

function mib(kb: number): string {
  return (kb / 1024).toFixed(0);
}

/** How the method samples fresh processes, when it does. */
function freshProcesses(results: CompareResults): string {
  const fresh = results.settings.freshEachRepeat.map((target) => `*${LABELS[target]}*`).join(', ');
  return (
    `Before every repeat after the first, ${fresh} are stopped, started afresh and warmed up the same way (those warm-ups' chunks are ` +
    "in the JSON, `freshWarmups`), so their repeats are also different processes: two processes of the same code came out 0.89–1.16× of " +
    'each other in a noise check (tenth round, below), which repeats in one process never sample. The backend and the local API belong to the ' +
    "local stack and run once. Each target's RSS after start is its first process's; its peak RSS is the highest of its processes. "
  );
}
