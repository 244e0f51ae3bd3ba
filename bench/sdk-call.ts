import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CreateQueueCommand, PurgeQueueCommand, SendMessageCommand, type SendMessageCommandInput, type SQSClient } from '@aws-sdk/client-sqs';
import { createSqsClient } from '../lib/adapters/aws-clients';
import { createSqsAuditSink } from '../lib/adapters/sqs-audit-sink';
import { USAGE_EVENT_ATTRIBUTE } from '../lib/core/audit-log/archivable-record';
import type { AuditRecord } from '../lib/core/audit-record';
import { sqsSafeJson } from '../lib/core/sqs-safe-text';
import { usageEventFor, type UsageEvent } from '../lib/core/usage-event';
import type { ObjectStore } from '../lib/ports/object-store';
import { auditRecordFixture } from '../test/fixtures/audit-records';
import { wholeNumberOption } from './args';
import { keepRun } from './benchmarks-file';
import { pinProcess, twoCoreLayout } from './cpu-pinning';
import { commitOf, machineFacts, type MachineFacts } from './machine-facts';
import { startPinnedChild } from './pinned-child';
import { spread, summarize, type Spread } from './stats';

// `npm run bench:sdk-call`: what one audit hand-off costs the process that makes it, one call at a
// time (a classic Lambda container's case, where no other request shares the round trip). The same
// audit-sized message goes to the local SQS emulator four ways, taking turns every few calls within
// each round: through modelgate's audit sink, through the SDK client as modelgate makes it, through
// the same client rebuilding its middleware chain on every call (the SDK's default), and as a bare
// keep-alive node:http POST of the same JSON body (the floor: the request body on the wire without
// the SDK's signature, headers and checks). Plain HTTP on loopback: real SQS adds TLS to every
// variant. This process is pinned to one CPU and the emulator to the other; CPU per call is this
// process's CPU time over each variant's calls. Figures go to BENCHMARKS.md, section "sdk-call".

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '6' },
    calls: { type: 'string', default: '1000' },
    warmup: { type: 'string', default: '1500' },
  },
});
const ROUNDS = wholeNumberOption('rounds', args.rounds);
const CALLS = wholeNumberOption('calls', args.calls);
const WARMUP = wholeNumberOption('warmup', args.warmup);

const ROOT = fileURLToPath(new URL('..', import.meta.url));
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// The emulator checks no signature; the SDK still signs every call, as it does in Lambda.
process.env.AWS_ACCESS_KEY_ID ??= 'local';
process.env.AWS_SECRET_ACCESS_KEY ??= 'local';

const VARIANTS = ['audit sink', 'SDK as configured', 'SDK, chain rebuilt per call', 'bare node:http'] as const;
type Variant = (typeof VARIANTS)[number];

interface VariantFigures {
  cpuMicrosPerCall: number;
  wallMicrosPerCall: number;
  /** Each call's own wall time, from send to answer: the wait a request at c=1 has before it may answer. */
  wallMsP50: number;
  wallMsP99: number;
}

interface SdkCallRun {
  benchmark: 'sdk-call';
  startedAt: string;
  command: string;
  commit: string;
  machine: MachineFacts;
  settings: { rounds: number; calls: number; warmup: number; slice: number; messageBytes: number; attributeBytes: number };
  loadAverage: { before: number[]; after: number[] };
  rounds: Array<Record<Variant, VariantFigures>>;
  /** Each variant's CPU per call ÷ the SDK's as configured, paired within each round. */
  cpuAgainstSdk: Record<Variant, Spread>;
}

/** A chat request's audit record, with bodies of the size the compare workload's carry, and its usage event. */
function auditSizedRecord(): { record: AuditRecord; usage: UsageEvent; usageText: string } {
  const record = auditRecordFixture(0, new Date(), {
    endpoint: 'toy-gpt',
    servedEntity: 'toy-gpt-openai',
    request: { bytes: 640, body: { model: 'toy-gpt', messages: [{ role: 'user', content: 'Hello there. '.repeat(40) }], max_tokens: 16 } },
    response: { bytes: 700, body: { id: 'chatcmpl-1', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'General Kenobi. '.repeat(30) } }] } },
  });
  const usage = usageEventFor(record, { units: { kind: 'tokens', input: 12, output: 16, estimated: false }, requestBytes: 640, responseBytes: 700 });
  return { record, usage, usageText: sqsSafeJson(usage) };
}

/** The SendMessage the audit sink makes for `record` (the same body and attributes). */
function sendMessageInput(queueUrl: string, record: AuditRecord, usageText: string): SendMessageCommandInput {
  return {
    QueueUrl: queueUrl,
    MessageBody: sqsSafeJson(record),
    MessageAttributes: {
      requestId: { DataType: 'String', StringValue: record.requestId },
      schema: { DataType: 'String', StringValue: `audit-record.v${record.version}` },
      [USAGE_EVENT_ATTRIBUTE]: { DataType: 'String', StringValue: usageText },
    },
  };
}

/** The same SendMessage as one POST in SQS's JSON protocol, over one kept-alive connection. */
function bareSender(endpoint: string, input: SendMessageCommandInput): () => Promise<void> {
  const url = new URL(endpoint);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const body = Buffer.from(JSON.stringify(input));
  const headers = { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'AmazonSQS.SendMessage', 'content-length': body.length };
  return () =>
    new Promise<void>((resolve, reject) => {
      const sent = request({ agent, host: url.hostname, port: url.port, method: 'POST', path: '/', headers }, (answer) => {
        answer.resume();
        answer.once('end', () => (answer.statusCode === 200 ? resolve() : reject(new Error(`the emulator answered ${answer.statusCode}`))));
      });
      sent.once('error', reject);
      sent.end(body);
    });
}

/** Never called: every record here fits in a message. */
const noBodyStore: ObjectStore = {
  put: () => Promise.reject(new Error('bench: no record here should need its bodies stored')),
  get: () => Promise.reject(new Error('bench: not read')),
  list: () => {
    throw new Error('bench: not listed');
  },
};

/** Calls in a row of one variant before the next variant's turn: short, so no variant's garbage or the machine's mood lands on one variant alone. */
const SLICE = 50;

/**
 * One round: the variants take turns, `SLICE` calls at a time, the order turning by one variant
 * each turn, until each has made `count` calls; CPU and wall time are summed per variant.
 */
async function measureRound(calls: Record<Variant, () => Promise<unknown>>, count: number): Promise<Record<Variant, VariantFigures>> {
  const spent = Object.fromEntries(VARIANTS.map((variant) => [variant, { cpuMicros: 0, calls: 0, wallMs: [] as number[] }])) as Record<
    Variant,
    { cpuMicros: number; calls: number; wallMs: number[] }
  >;
  for (let turn = 0; spent[VARIANTS[0]].calls < count; turn += 1) {
    for (let step = 0; step < VARIANTS.length; step += 1) {
      const variant = VARIANTS[(turn + step) % VARIANTS.length] as Variant;
      const slice = Math.min(SLICE, count - spent[variant].calls);
      const cpuBefore = process.cpuUsage();
      for (let index = 0; index < slice; index += 1) {
        const callBefore = process.hrtime.bigint();
        await calls[variant]();
        spent[variant].wallMs.push(Number(process.hrtime.bigint() - callBefore) / 1e6);
      }
      const cpu = process.cpuUsage(cpuBefore);
      spent[variant].cpuMicros += cpu.user + cpu.system;
      spent[variant].calls += slice;
    }
  }
  return Object.fromEntries(
    VARIANTS.map((variant) => {
      const wall = summarize(spent[variant].wallMs);
      return [
        variant,
        { cpuMicrosPerCall: spent[variant].cpuMicros / count, wallMicrosPerCall: wall.mean * 1_000, wallMsP50: wall.p50, wallMsP99: wall.p99 },
      ];
    }),
  ) as Record<Variant, VariantFigures>;
}

function render(run: SdkCallRun, resultFile: string): string {
  const median = (variant: Variant, figure: keyof VariantFigures) => spread(run.rounds.map((round) => round[variant][figure])).median;
  const ratio = (value: Spread) => `${value.median.toFixed(2)} (${value.min.toFixed(2)}–${value.max.toFixed(2)})`;
  const rows = VARIANTS.map(
    (variant) =>
      `| ${variant} | ${Math.round(median(variant, 'cpuMicrosPerCall'))} | ${ratio(run.cpuAgainstSdk[variant])} | ${Math.round(median(variant, 'wallMicrosPerCall'))} | ${median(variant, 'wallMsP50').toFixed(2)} / ${median(variant, 'wallMsP99').toFixed(2)} |`,
  );
  return [
    '## One audit hand-off, one call at a time',
    '',
    `What one \`SendMessage\` of an audit-sized record (a ${run.settings.messageBytes}-byte body, a ${run.settings.attributeBytes}-byte usage attribute) costs the`,
    'process that sends it, to the local SQS emulator (fauxqs), one call at a time: the c=1 floor of the sync path, where no',
    `other request shares the round trip. Within each round the variants take turns, ${SLICE} calls at a time; this process is pinned to one CPU`,
    `and the emulator to the other; ${run.settings.rounds} rounds × ${run.settings.calls} calls per variant after ${run.settings.warmup} warm-up calls each. *×* is the variant's CPU`,
    "per call ÷ the SDK client's as modelgate makes it, paired within each round: median (min–max). Figures are medians over rounds.",
    '',
    `Run ${run.startedAt} at ${run.commit}, ${run.machine.cpuModel}, Node ${run.machine.node}, load average ${run.loadAverage.before[0]?.toFixed(2)} before and ${run.loadAverage.after[0]?.toFixed(2)} after; \`${run.command}\`; raw figures in \`${resultFile}\`.`,
    '',
    '| variant | CPU µs per call | × CPU | wall µs per call | wall p50 / p99 per call (ms) |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
    '*audit sink* is `createSqsAuditSink` as the sync path calls it (the record serialised, its usage event attached, the',
    "group commit's bookkeeping, then the same SendMessage). *SDK, chain rebuilt per call* is the same client with the SDK's",
    '`cacheMiddleware` off, its default. *bare node:http* sends the same JSON body without the SDK\'s signature, headers, retry',
    'bookkeeping, MD5 checks or response parsing. Everything is plain HTTP on loopback; real SQS adds TLS to every variant.',
    "*wall p50 / p99 per call* is each call's own time from send to answer (medians over rounds of each round's percentiles):",
    'what a request at c=1 waits for its audit record before it may answer, with nothing else of the request around it.',
  ].join('\n');
}

const startedAt = new Date();
const dataDir = mkdtempSync(join(tmpdir(), 'modelgate-bench-sdk-call-'));
const layout = twoCoreLayout();
const machine = machineFacts();
const loadBefore = loadavg();
const emulator = await startPinnedChild({
  name: 'sqs-emulator',
  cpus: layout.rest,
  nodeArgs: ['--import', 'tsx', join(ROOT, 'bench/processes/sqs-emulator.ts')],
  env: process.env,
  cwd: ROOT,
  logFile: join(dataDir, 'emulator.log'),
});
try {
  pinProcess(process.pid, layout.underTest);
  const client: SQSClient = createSqsClient({ AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL_SQS: emulator.url });
  const uncached: SQSClient = createSqsClient({ AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL_SQS: emulator.url });
  // The one difference: the SDK's default, resolving the command's middleware stack on every send.
  (uncached.config as { cacheMiddleware?: boolean }).cacheMiddleware = false;
  const { QueueUrl: queueUrl } = await client.send(new CreateQueueCommand({ QueueName: 'bench-audit' }));
  if (queueUrl === undefined) throw new Error('the emulator made no queue');
  const { record, usage, usageText } = auditSizedRecord();
  const input = sendMessageInput(queueUrl, record, usageText);
  const sink = createSqsAuditSink(client, { queueUrl, bodies: noBodyStore });
  const calls: Record<Variant, () => Promise<unknown>> = {
    'audit sink': () => sink.record(record, usage),
    'SDK as configured': () => client.send(new SendMessageCommand(input)),
    'SDK, chain rebuilt per call': () => uncached.send(new SendMessageCommand(input)),
    'bare node:http': bareSender(emulator.url, input),
  };

  await measureRound(calls, WARMUP);
  const rounds: SdkCallRun['rounds'] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    // Each round starts from an empty queue: the emulator's work per message stays the same.
    await client.send(new PurgeQueueCommand({ QueueUrl: queueUrl }));
    const figures = await measureRound(calls, CALLS);
    rounds.push(figures);
    console.log(`sdk-call: round ${round + 1}/${ROUNDS} ${VARIANTS.map((variant) => `${variant} ${Math.round(figures[variant].cpuMicrosPerCall)} µs`).join(', ')}`);
  }

  const cpuAgainstSdk = Object.fromEntries(
    VARIANTS.map((variant) => [variant, spread(rounds.map((round) => round[variant].cpuMicrosPerCall / round['SDK as configured'].cpuMicrosPerCall))]),
  ) as Record<Variant, Spread>;
  const run: SdkCallRun = {
    benchmark: 'sdk-call',
    startedAt: startedAt.toISOString(),
    command: `npm run bench:sdk-call -- --rounds ${ROUNDS} --calls ${CALLS} --warmup ${WARMUP}`,
    commit: commitOf(ROOT),
    machine,
    settings: {
      rounds: ROUNDS,
      calls: CALLS,
      warmup: WARMUP,
      slice: SLICE,
      messageBytes: Buffer.byteLength(input.MessageBody ?? ''),
      attributeBytes: Buffer.byteLength(usageText),
    },
    loadAverage: { before: loadBefore, after: loadavg() },
    rounds,
    cpuAgainstSdk,
  };
  console.log(keepRun(ROOT, 'sdk-call', startedAt, run, (file) => render(run, file)));
} finally {
  await emulator.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
