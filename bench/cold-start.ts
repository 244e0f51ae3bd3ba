import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { v7 as uuidv7 } from 'uuid';
import { packageStack } from '../deploy/package-stack';
import { extractZip } from '../deploy/zip-entries';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDynamoDbKeyStore } from '../lib/adapters/dynamodb-key-store';
import { toMessageBody } from '../lib/adapters/sqs-audit-sink';
import { buildAuditRecord } from '../lib/core/audit-record';
import { apiKeyRecordFor, newApiKey } from '../lib/core/api-key';
import { buildApiGatewayEvent } from '../local/api/api-gateway-event';
import { ON_FREE_PORTS, startLocalStack, type LocalStack } from '../local/stack';
import { writeBenchmarksSection } from './benchmarks-file';
import { bundleComposition, esbuildOptionsFromServerlessYml, familyOf, type PackageShare } from './bundle-composition';
import { formatColdStartReport } from './cold-start-report';
import type { ColdStartResults, ColdStartRun, ColdStartSample } from './cold-start-results';
import { machineFacts } from './machine-facts';
import { summarize } from './stats';

// `npm run bench:cold-start`: each function's packaged bundle (sizes, what is in it) and, in fresh
// `node` processes, the time to import it and serve the first request. See BENCHMARKS.md.

const SETTINGS = { repeats: 20, warmups: 2, hardLimitMs: 300_000 } as const;
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const STAGE = 'bench';
const CHILD = join(ROOT, 'bench/processes/cold-start.mjs');
const BODY = JSON.stringify({ dataframe_split: { columns: ['text'], data: [['I love this']] } });

interface Workload {
  label: string;
  description: string;
  expectedStatus: number;
  event(apiKey: string): APIGatewayProxyEvent;
}

// What each function's first request is. A function added to serverless.yml without one here
// is reported as not measured rather than guessed at.
const WORKLOADS: Record<string, Workload> = {
  invoke: {
    label: 'POST /serving-endpoints/sentiment/invocations → 200',
    description:
      'POST /serving-endpoints/sentiment/invocations, one-row `dataframe_split`, with a key created for the run: S3 key lookup, ' +
      'SageMaker runtime call to the local model server, audit SendMessage + usage SendMessage to the fauxqs emulator',
    expectedStatus: 200,
    event: (apiKey) =>
      buildApiGatewayEvent({
        method: 'POST',
        path: '/serving-endpoints/sentiment/invocations',
        query: new URLSearchParams(),
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', 'user-agent': 'modelgate-bench', host: '127.0.0.1' },
        body: Buffer.from(BODY),
        sourceIp: '127.0.0.1',
        resource: '/serving-endpoints/{name}/invocations',
        pathParameters: { name: 'sentiment' },
        stage: STAGE,
      }),
  },
  openai: {
    label: 'POST /v1/chat/completions (model assistant) → 200',
    description:
      'POST /v1/chat/completions on the `assistant` chat endpoint, answered by its SageMaker primary on the local model server: ' +
      'key lookup, body validation, routing, audit SendMessage + usage SendMessage (a streaming handler, answering JSON)',
    expectedStatus: 200,
    event: (apiKey) =>
      buildApiGatewayEvent({
        method: 'POST',
        path: '/v1/chat/completions',
        query: new URLSearchParams(),
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', 'user-agent': 'modelgate-bench', host: '127.0.0.1' },
        body: Buffer.from(JSON.stringify({ model: 'assistant', messages: [{ role: 'user', content: 'Hello' }] })),
        sourceIp: '127.0.0.1',
        resource: '/v1/chat/completions',
        pathParameters: {},
        stage: STAGE,
      }),
  },
  auditRecords: {
    label: 'GET /audit/records/{id} without a key → 401',
    description: 'GET /audit/records/{id} with no key: refused, and the refusal itself handed to the audit queue',
    expectedStatus: 401,
    event: () =>
      buildApiGatewayEvent({
        method: 'GET',
        path: '/audit/records/01890a5d-ac96-774b-bcce-b302099a8057',
        query: new URLSearchParams(),
        headers: { 'user-agent': 'modelgate-bench', host: '127.0.0.1' },
        body: Buffer.alloc(0),
        sourceIp: '127.0.0.1',
        resource: '/audit/records/{id}',
        pathParameters: { id: '01890a5d-ac96-774b-bcce-b302099a8057' },
        stage: STAGE,
      }),
  },
  auditArchiver: {
    label: 'SQS batch of one audit record → archived',
    description: 'an SQS event with one audit record: dedupe check, chain head read, one gzip batch object and chain entry written to the emulator',
    expectedStatus: 200,
    event: () => auditQueueEvent(),
  },
  auditDigest: {
    label: 'scheduled digest → signed',
    description: 'a scheduled event: reads the chain head and writes a digest signed with the local P-256 key (KMS Sign in AWS)',
    expectedStatus: 200,
    event: () => ({ 'detail-type': 'Scheduled Event', source: 'aws.events', time: new Date().toISOString() }) as unknown as APIGatewayProxyEvent,
  },
  notFound: {
    label: 'GET /v2/unknown → 404',
    description: 'GET /v2/unknown (no backend, no AWS call)',
    expectedStatus: 404,
    event: () =>
      buildApiGatewayEvent({
        method: 'GET',
        path: '/v2/unknown',
        query: new URLSearchParams(),
        headers: { 'user-agent': 'modelgate-bench', host: '127.0.0.1' },
        body: Buffer.alloc(0),
        sourceIp: '127.0.0.1',
        resource: '/{proxy+}',
        pathParameters: { proxy: 'v2/unknown' },
        stage: STAGE,
      }),
  },
};

/** An SQS event as Lambda's event source mapping delivers it, carrying one fresh audit record. */
function auditQueueEvent(): APIGatewayProxyEvent {
  const requestId = uuidv7();
  const record = buildAuditRecord({
    requestId,
    receivedAt: new Date(),
    endpointName: 'sentiment',
    principal: undefined,
    servedEntity: undefined,
    status: 401,
    error: { code: 'UNAUTHENTICATED', message: 'Missing Authorization header' },
    latencyMs: 1,
    backendLatencyMs: undefined,
    clientIp: '127.0.0.1',
    userAgent: 'modelgate-bench',
    requestBody: Buffer.from('{}'),
    responseBody: Buffer.from('{}'),
  });
  const body = toMessageBody(record);
  const sqsEvent = {
    Records: [
      {
        messageId: randomUUID(),
        receiptHandle: randomUUID(),
        body,
        attributes: { ApproximateReceiveCount: '1', SentTimestamp: String(Date.now()), SenderId: 'bench', ApproximateFirstReceiveTimestamp: String(Date.now()) },
        messageAttributes: {
          requestId: { dataType: 'String', stringValue: requestId, stringListValues: [], binaryListValues: [] },
          schema: { dataType: 'String', stringValue: 'audit-record.v1', stringListValues: [], binaryListValues: [] },
        },
        md5OfBody: createHash('md5').update(body).digest('hex'),
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:modelgate-local-audit',
        awsRegion: 'us-east-1',
      },
    ],
  };
  // The workload table is typed for API events; this one is handed to the function as JSON all the same.
  return sqsEvent as unknown as APIGatewayProxyEvent;
}

interface TemplateFunction {
  name: string;
  handler: string;
  zip: string;
  timeout: number;
  nodeOptions: string;
}

class RunAborted extends Error {
  override name = 'RunAborted';
}

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const startedAt = new Date();
const workDir = mkdtempSync(join(tmpdir(), 'modelgate-cold-start-'));
let stack: LocalStack | undefined;
const watchdog = setTimeout(() => {
  console.error(`cold-start benchmark: still running after ${SETTINGS.hardLimitMs / 1000} s; giving up`);
  void Promise.race([stack?.stop(), new Promise((resolve) => setTimeout(resolve, 5_000))]).finally(() => process.exit(2));
}, SETTINGS.hardLimitMs);

try {
  const machine = machineFacts();
  const packageDir = join(workDir, 'package');
  await packageStack({ root: ROOT, stage: STAGE, outputDir: packageDir });
  const functions = functionsOf(packageDir);
  const esbuildOptions = esbuildOptionsFromServerlessYml(ROOT);

  stack = await startLocalStack({ root: ROOT, dataDir: join(workDir, 'stack'), ...ON_FREE_PORTS });
  const apiKey = await createApiKey(stack);
  const pinnedCpu = await tasksetCpu(machine.nproc);

  const prepared = functions.map((fn) => {
    const dir = join(workDir, 'functions', fn.name);
    extractZip(join(packageDir, fn.zip), dir);
    const workload = WORKLOADS[fn.name];
    const eventFile = join(workDir, `${fn.name}-event.json`);
    if (workload) writeFileSync(eventFile, JSON.stringify(workload.event(apiKey)));
    // Source maps make stack traces readable, and Node reads and parses them at import: measured both ways.
    const withoutSourceMaps = fn.nodeOptions.replace('--enable-source-maps', '').trim();
    const variants = withoutSourceMaps === fn.nodeOptions ? [fn.nodeOptions] : [fn.nodeOptions, withoutSourceMaps];
    return { fn, dir, workload, eventFile, variants: variants.map((nodeOptions) => ({ nodeOptions, samples: [] as ColdStartSample[] })) };
  });

  // Alternating the order each round spreads slow drifts in the machine's load over all functions.
  const cases = prepared.flatMap((entry) => entry.variants.map((variant) => ({ ...entry, variant })));
  for (let round = 0; round < SETTINGS.warmups + SETTINGS.repeats; round += 1) {
    for (const { fn, dir, workload, eventFile, variant } of round % 2 === 0 ? cases : [...cases].reverse()) {
      if (!workload) continue;
      const environment = { ...stack.environment, NODE_OPTIONS: variant.nodeOptions };
      const sample = await coldStart({ fn, dir, eventFile, environment, pinnedCpu });
      if (sample.statusCode !== workload.expectedStatus) {
        throw new RunAborted(`${fn.name}: first request answered ${sample.statusCode}, expected ${workload.expectedStatus}. No figures written.`);
      }
      if (round >= SETTINGS.warmups) variant.samples.push(sample.times);
    }
  }

  const results: ColdStartResults = {
    benchmark: 'cold-start',
    startedAt: startedAt.toISOString(),
    durationMs: 0,
    command: 'npm run bench:cold-start',
    machine,
    versions: versions(),
    settings: { repeats: SETTINGS.repeats, warmups: SETTINGS.warmups, pinnedCpu, nodeOptions: functions[0]?.nodeOptions ?? '' },
    functions: [],
  };
  for (const { fn, dir, workload, variants } of prepared) {
    const bundle = `${fn.handler.slice(0, fn.handler.lastIndexOf('.'))}.mjs`;
    const composition = await bundleComposition(ROOT, bundle.replace(/\.mjs$/, '.ts'), esbuildOptions);
    const bundleBytes = statSync(join(dir, bundle)).size;
    results.functions.push({
      name: fn.name,
      handler: fn.handler,
      zipBytes: statSync(join(packageDir, fn.zip)).size,
      bundleBytes,
      sourceMapBytes: statSync(join(dir, `${bundle}.map`)).size,
      compositionMatchesPackage: composition.outputBytes === bundleBytes,
      packages: composition.packages,
      families: families(composition.packages),
      workload: workload?.description ?? 'not measured: no workload defined in bench/cold-start.ts',
      workloadLabel: workload?.label ?? 'not measured',
      expectedStatus: workload?.expectedStatus ?? 0,
      runs: workload ? variants.map(({ nodeOptions, samples }) => summarizeRun(nodeOptions, samples)) : [],
    });
  }
  results.durationMs = Date.now() - startedAt.getTime();

  const resultsDir = join(ROOT, 'bench/results');
  mkdirSync(resultsDir, { recursive: true });
  const resultsFile = join(resultsDir, `cold-start-${startedAt.toISOString().replace(/:/g, '-').replace(/\.\d+Z$/, 'Z')}.json`);
  writeFileSync(resultsFile, `${JSON.stringify(results, null, 2)}\n`);
  const report = formatColdStartReport(results);
  writeBenchmarksSection(join(ROOT, 'BENCHMARKS.md'), 'cold-start', report);
  console.log(report);
  console.log(`\nRaw figures: ${resultsFile}\nSection "cold-start" of BENCHMARKS.md rewritten.`);
} catch (error) {
  process.exitCode = 1;
  console.error(`cold-start benchmark aborted: ${error instanceof Error ? error.message : String(error)}`);
  if (!(error instanceof RunAborted) && error instanceof Error && error.stack) console.error(error.stack);
} finally {
  await stack?.stop();
  rmSync(workDir, { recursive: true, force: true });
  clearTimeout(watchdog);
}

/** The functions of the packaged template, with what the benchmark needs of each. */
function functionsOf(packageDir: string): TemplateFunction[] {
  const template = JSON.parse(readFileSync(join(packageDir, 'cloudformation-template-update-stack.json'), 'utf8')) as {
    Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
  };
  return Object.values(template.Resources)
    .filter((resource) => resource.Type === 'AWS::Lambda::Function')
    .map((resource) => {
      const properties = resource.Properties;
      const variables = (properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
      return {
        name: String(properties.FunctionName).replace(`modelgate-${STAGE}-`, ''),
        handler: String(properties.Handler),
        zip: basename(String((properties.Code as { S3Key: string }).S3Key)),
        timeout: Number(properties.Timeout ?? 3),
        nodeOptions: typeof variables.NODE_OPTIONS === 'string' ? variables.NODE_OPTIONS : '',
      };
    });
}

/** A key made for this run (not the demo key), stored hashed as the key CLI would. */
async function createApiKey(localStack: LocalStack): Promise<string> {
  const client = new DynamoDBClient({
    region: localStack.environment.AWS_REGION,
    endpoint: localStack.dynamoDbUrl,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const apiKey = newApiKey();
  await createDynamoDbKeyStore(DynamoDBDocumentClient.from(client), { tableName: localStack.tables.KeysTable }).create(
    apiKeyRecordFor(apiKey, { tenant: 'bench', roles: ['invoke'], endpoints: ['sentiment', 'assistant'], now: new Date() }),
  );
  client.destroy();
  return apiKey;
}

/** The last CPU, when `taskset` exists: every cold start then runs on the same core. */
function tasksetCpu(nproc: number): Promise<number | null> {
  return new Promise((resolve) => {
    const probe = spawn('taskset', ['-c', String(nproc - 1), 'true'], { stdio: 'ignore' });
    probe.once('error', () => resolve(null));
    probe.once('close', (code) => resolve(code === 0 ? nproc - 1 : null));
  });
}

function coldStart(options: {
  fn: TemplateFunction;
  dir: string;
  eventFile: string;
  environment: Record<string, string>;
  pinnedCpu: number | null;
}): Promise<{ statusCode: number; times: ColdStartSample }> {
  const { fn, dir } = options;
  const args = [CHILD, join(dir, `${fn.handler.slice(0, fn.handler.lastIndexOf('.'))}.mjs`), options.eventFile, `modelgate-${STAGE}-${fn.name}`, String(fn.timeout)];
  const [command, commandArgs] =
    options.pinnedCpu === null ? [process.execPath, args] : ['taskset', ['-c', String(options.pinnedCpu), process.execPath, ...args]];
  const spawnedAt = performance.now();
  const child = spawn(command, commandArgs, {
    cwd: dir,
    // Only what Lambda would set for the function (and PATH); the benchmark's own variables stay out.
    env: { PATH: process.env.PATH ?? '', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...options.environment },
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
  });
  let report = '';
  let stderr = '';
  child.stdio[3]!.on('data', (chunk: Buffer) => (report += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      const wallMs = performance.now() - spawnedAt;
      if (code !== 0 || report === '') {
        reject(new RunAborted(`${fn.name}: cold start exited with ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
        return;
      }
      const parsed = JSON.parse(report) as { processStartToImportMs: number; importMs: number; firstRequestMs: number; statusCode: number };
      resolve({
        statusCode: parsed.statusCode,
        times: { processStartToImportMs: parsed.processStartToImportMs, importMs: parsed.importMs, firstRequestMs: parsed.firstRequestMs, wallMs },
      });
    });
  });
}

function summarizeRun(nodeOptions: string, samples: ColdStartSample[]): ColdStartRun {
  return {
    nodeOptions,
    processStartToImportMs: summarize(samples.map((s) => s.processStartToImportMs)),
    importMs: summarize(samples.map((s) => s.importMs)),
    firstRequestMs: summarize(samples.map((s) => s.firstRequestMs)),
    importAndFirstRequestMs: summarize(samples.map((s) => s.importMs + s.firstRequestMs)),
    wallMs: summarize(samples.map((s) => s.wallMs)),
    samples,
  };
}

function families(packages: PackageShare[]): PackageShare[] {
  const totals = new Map<string, number>();
  for (const share of packages) totals.set(familyOf(share.name), (totals.get(familyOf(share.name)) ?? 0) + share.bytes);
  return [...totals].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes);
}

function versions(): Record<string, string> {
  const installed = (name: string) => (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  return {
    node: process.version,
    esbuild: installed('esbuild'),
    osls: installed('osls'),
    'serverless-esbuild': installed('serverless-esbuild'),
    '@aws-sdk/client-s3': installed('@aws-sdk/client-s3'),
    '@aws-lambda-powertools/tracer': installed('@aws-lambda-powertools/tracer'),
    'aws-xray-sdk-core': installed('aws-xray-sdk-core'),
    zod: installed('zod'),
  };
}

