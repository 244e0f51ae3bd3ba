import type { LevelSummary, OverheadResults, TargetSummary } from './overhead-results';
import type { Distribution } from './stats';

/** The BENCHMARKS.md section (also printed): setup, three tables and a reading of the figures. */
export function formatOverheadReport(results: OverheadResults): string {
  const { machine, settings, inProcess } = results;
  const [first, last] = [results.levels[0], results.levels.at(-1)];
  const lines = [
    '## Gateway overhead',
    '',
    `- **Command:** \`${results.command}\` (\`tsx bench/overhead.ts\`), run ${results.startedAt}, took ${(results.durationMs / 1000).toFixed(0)} s.`,
    `- **Machine:** ${machine.nproc} CPUs (\`nproc\`), ${machine.cpuModel}, ${machine.kernel}, Node ${machine.node}; ` +
      `1-minute load average ${machine.loadAverage1m.toFixed(2)} before the run. A shared, noisy machine: compare ratios, not absolute numbers.`,
    `- **Load generator:** ${results.loadGenerator}.`,
    `- **Workload:** one-row \`dataframe_split\` on \`${results.workload.endpoint}\`. *direct* = the local model server ` +
      `(\`POST /endpoints/${results.workload.modelServerEndpoint}/invocations\`); *gateway* = the local API ` +
      `(\`POST /serving-endpoints/${results.workload.endpoint}/invocations\`: auth, validation, the SageMaker runtime SDK call to the same ` +
      'model server, then the audit `PutObject` and usage `SendMessage` to the fauxqs emulator before answering).',
    `- **Method:** per concurrency, a discarded warm-up, then ${settings.repeats} repeats of one direct and one gateway batch in ` +
      `alternating order (${settings.levels.map((level) => `${level.requests} requests per target per repeat at c=${level.concurrency}`).join(', ')}); ` +
      `latency is send to last byte, pooled over repeats. ${results.measuredRequests} measured requests, ${results.nonSuccess} non-2xx ` +
      '(any non-2xx aborts the run). CPU is utime+stime from `/proc/<pid>/stat` read around each batch.',
    '',
    '### Latency (ms)',
    '',
    '| concurrency | series | p50 | p90 | p99 | req/s | p50 per repeat |',
    '| ---: | --- | ---: | ---: | ---: | ---: | --- |',
    ...results.levels.flatMap(latencyRows),
    '',
    '### CPU per request (µs)',
    '',
    'utime+stime per request of each process or thread; *machine busy* is all CPUs over the same batches, and *others* the CPUs ' +
      'kept busy by work not ours (other tenants, kernel time not charged to a process).',
    '',
    '| concurrency | batches | API process (local API Gateway + handler) | model server | benchmark main thread (emulator + log relay) | load generator thread | all our processes | machine busy | others (CPUs) |',
    '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...results.levels.flatMap((level) => [cpuRow(level.concurrency, 'direct', level.direct), cpuRow(level.concurrency, 'gateway', level.gateway)]),
    '',
    `### The handler in process (c=1, ${inProcess.invocations} invocations after ${settings.handlerLoop.warmup} warm-up)`,
    '',
    'The invoke handler called directly with API Gateway proxy events (`buildApiGatewayEvent`), no HTTP in front, in a child process ' +
      "of its own with the stack's environment (the emulator runs in the benchmark process, whose `process.cpuUsage()` would include it). " +
      `Logged figures come from the handler's own log line (${inProcess.matchedLogLines} of ${inProcess.invocations} matched by request id).`,
    '',
    '| measure | p50 | p90 | p99 | mean |',
    '| --- | ---: | ---: | ---: | ---: |',
    distributionRow('handler wall time incl. backend + hand-offs (ms)', inProcess.wallMs, ms),
    distributionRow('handler CPU per invocation, `process.cpuUsage()` (µs)', inProcess.cpuUs, us),
    distributionRow('`x-modelgate-overhead-ms` (handler time outside the backend call, hand-offs included)', inProcess.overheadHeaderMs, ms),
    distributionRow('logged `backendLatencyMs` (SageMaker runtime SDK call)', inProcess.loggedBackendMs, ms),
    distributionRow('logged `latencyMs` (arrival → answer ready, before hand-offs)', inProcess.loggedLatencyMs, ms),
    distributionRow('wall − logged `latencyMs` (audit + usage hand-offs, then logging, metrics, middy)', inProcess.afterLoggedLatencyMs, ms),
    ...results.levels.flatMap((level) =>
      level.gateway.overheadHeaderMs ? [distributionRow(`\`x-modelgate-overhead-ms\` through the local API, c=${level.concurrency}`, level.gateway.overheadHeaderMs, ms)] : [],
    ),
    '',
    '### Reading',
    '',
    first && last ? reading(first, last, results) : '',
  ];
  return lines.join('\n');
}

function latencyRows(level: LevelSummary): string[] {
  const c = level.concurrency;
  const target = (name: string, summary: TargetSummary) =>
    `| ${c} | ${name} | ${ms(summary.latencyMs.p50)} | ${ms(summary.latencyMs.p90)} | ${ms(summary.latencyMs.p99)} | ` +
    `${summary.throughputRps.toFixed(0)} | ${summary.p50PerRepeatMs.map(ms).join(', ')} |`;
  return [
    target('direct', level.direct),
    target('gateway', level.gateway),
    `| ${c} | added (gateway − direct) | ${signedMs(level.addedMs.p50)} | ${signedMs(level.addedMs.p90)} | ${signedMs(level.addedMs.p99)} | | |`,
    `| ${c} | ratio (gateway / direct) | ×${level.ratio.p50.toFixed(1)} | ×${level.ratio.p90.toFixed(1)} | ×${level.ratio.p99.toFixed(1)} | | |`,
  ];
}

function cpuRow(concurrency: number, name: string, summary: TargetSummary): string {
  const cpu = summary.cpuPerRequest;
  return (
    `| ${concurrency} | ${name} | ${us(cpu.apiUs)} | ${us(cpu.modelServerUs)} | ${us(cpu.benchMainThreadUs)} | ` +
    `${us(cpu.loadGeneratorThreadUs)} | ${us(cpu.ourProcessesUs)} | ${cpu.machineBusyPercent.toFixed(0)}% | ${cpus(cpu.otherCpus)} |`
  );
}

function distributionRow(label: string, distribution: Distribution, format: (value: number) => string): string {
  return `| ${label} | ${format(distribution.p50)} | ${format(distribution.p90)} | ${format(distribution.p99)} | ${format(distribution.mean)} |`;
}

/** Where the time goes, worded from this run's figures so it stays true when they move. */
function reading(single: LevelSummary, concurrent: LevelSummary, results: OverheadResults): string {
  const handler = results.inProcess;
  const cores = results.machine.nproc;
  const atOne = single.gateway.cpuPerRequest;
  const atMany = concurrent.gateway.cpuPerRequest;
  const logged = handler.matchedLogLines >= handler.invocations / 2;
  const front = single.gateway.latencyMs.p50 - handler.wallMs.p50;
  const onCpu = handler.cpuUs.mean / 1000 >= 0.6 * handler.wallMs.mean;

  const breakdown = logged
    ? `: the SageMaker runtime SDK call ${ms(handler.loggedBackendMs.p50)} ms (a bare keep-alive call to the same server takes ` +
      `${ms(single.direct.latencyMs.p50)} ms), the audit + usage hand-offs and what follows them ${ms(handler.afterLoggedLatencyMs.p50)} ms, ` +
      `and all the handler's time outside the backend call, hand-offs included (\`x-modelgate-overhead-ms\`), ${ms(handler.overheadHeaderMs.p50)} ms`
    : ` (its time outside the backend call, \`x-modelgate-overhead-ms\`, is ${ms(handler.overheadHeaderMs.p50)} ms; no log lines to split the rest)`;
  const rest = front > 0 ? `; the local API's HTTP front and scheduling make up the other ~${ms(front)} ms` : '';
  return [
    `At c=1 the gateway adds ${ms(single.addedMs.p50)} ms at p50 and ${ms(single.addedMs.p99)} ms at p99 (×${single.ratio.p50.toFixed(1)} the direct call). ` +
      `Called in process the handler takes ${ms(handler.wallMs.p50)} ms and ${onCpu ? 'is mostly on CPU' : 'spends part of it on CPU'} ` +
      `(${ms(handler.cpuUs.mean / 1000)} ms of CPU per invocation on average, against ${ms(handler.wallMs.mean)} ms of wall time)${breakdown}${rest}.`,
    `The hand-offs go to the fauxqs emulator on the benchmark's main thread, so its cost is inside the gateway figures: ` +
      `${us(atOne.benchMainThreadUs)} µs of CPU per gateway request at c=1 (with relaying the API's log), against ${us(atOne.apiUs)} µs ` +
      `in the API process (the handler alone, called in process: ${us(handler.cpuUs.mean)} µs) and ${us(atOne.modelServerUs)} µs in the model server.`,
    atManyReading(concurrent, cores),
    `\`x-modelgate-overhead-ms\` counts the whole SDK call (signing and parsing included) as backend time, so it reports ` +
      `${ms(handler.overheadHeaderMs.p50)} ms while the handler adds ${ms(handler.wallMs.p50 - single.direct.latencyMs.p50)} ms over a bare call.`,
  ].join(' ');
}

function atManyReading(level: LevelSummary, cores: number): string {
  const cpu = level.gateway.cpuPerRequest;
  const rps = level.gateway.throughputRps;
  // Share of one CPU the API process used: near 1 means its single event loop was the limit.
  const apiBusy = (cpu.apiUs * rps) / 1e6;
  const queueMs = (level.concurrency / rps) * 1000;
  const queue = `${level.concurrency} in flight at ${rps.toFixed(0)} req/s is ${ms(queueMs)} ms each`;
  if (apiBusy >= 0.8) {
    return (
      `At c=${level.concurrency} the API process's single event loop is the bottleneck: at ${us(cpu.apiUs)} µs of CPU per request it can ` +
      `serve ~${(1e6 / cpu.apiUs).toFixed(0)} req/s and was busy ${(100 * apiBusy).toFixed(0)}% of the time, so most of the ` +
      `${signedMs(level.addedMs.p50)} ms at p50 is queueing in front of it (${queue}); in Lambda each concurrent request has an instance ` +
      'of its own, so that queue belongs to the one-process local API.'
    );
  }
  if (cpu.machineBusyPercent >= 85) {
    return (
      `At c=${level.concurrency} the ${cores} CPUs are saturated (${cpu.machineBusyPercent.toFixed(0)}% busy, ${cpus(cpu.otherCpus)} of them on ` +
      `others' work; ours need ${us(cpu.ourProcessesUs)} µs of CPU per gateway request), so most of the ${signedMs(level.addedMs.p50)} ms ` +
      `at p50 is waiting for a CPU (${queue}).`
    );
  }
  return (
    `At c=${level.concurrency} neither the API process (${(100 * apiBusy).toFixed(0)}% of a CPU) nor the machine ` +
    `(${cpu.machineBusyPercent.toFixed(0)}% busy) is saturated; the ${signedMs(level.addedMs.p50)} ms at p50 compares with ${queue}.`
  );
}

/** CPUs' worth of time; tiny negatives are tick rounding between /proc/stat and the processes' own counters. */
function cpus(value: number): string {
  return value < 0.05 ? '~0' : value.toFixed(2);
}

function ms(value: number): string {
  return Math.abs(value) < 10 ? value.toFixed(2) : value.toFixed(1);
}

function signedMs(value: number): string {
  return value >= 0 ? `+${ms(value)}` : ms(value);
}

function us(value: number): string {
  return value.toFixed(0);
}
