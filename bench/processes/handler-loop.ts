import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { buildApiGatewayEvent, buildLambdaContext } from '../../local/api/api-gateway-event';
import { installLambdaStreamingGlobal, invokeHandler, type LambdaHandler } from '../../local/api/lambda-streaming';
import { matchRoute, readRoutes } from '../../local/api/routes';
import { installInvokeStore } from '../../local/invoke-store';
import { loadHandler } from '../../local/load-handler';
import { PROFILE_SAMPLING_INTERVAL_US, type ConcurrentLoopResult, type HandlerLoopRequest, type HandlerLoopResult, type HandlerSample, type OverlappedSample } from '../handler-in-process';
import { applyWhatIfs } from './what-if';

// Calls a handler in a loop, in this process, as a warm Lambda container would: no HTTP in front
// of it. Started by handler-in-process.ts with the stack's environment already set, so the
// handler's cold start (which reads process.env) sees it; the request arrives over IPC.
// With a concurrency above 1, several callers invoke it at once, as one Node.js process serves
// overlapping requests (a Lambda Managed Instances worker, the local API).
// A benchmark that died must not leave this loop calling the stack.
process.once('disconnect', () => process.exit(1));
process.once('message', (request: HandlerLoopRequest) => {
  runLoop(request).then(
    (result) => process.send?.(result, () => process.exit(0)),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
});

/**
 * Time spent waiting on SQS (the audit and usage hand-offs) during one invocation: the union of
 * the intervals of every `SQSClient.send` in flight, measured by wrapping `send` in this process
 * only. At concurrency 1 invocations run one at a time, so every send belongs to the current one;
 * above 1 sends overlap and the figure is not used (the wrapper stays, so both modes run the same code).
 * The wrapper also counts the calls and the messages they carry (reset and reported for the
 * measured phase above 1 only): how many records the audit hand-off's group commit puts in one
 * SendMessageBatch, which sets what the SDK's per-call work costs each request.
 */
const handoffs = { inFlight: 0, since: 0, totalMs: 0, calls: 0, messages: 0 };

function timeSqsSends(): void {
  const send = SQSClient.prototype.send;
  SQSClient.prototype.send = function timedSend(this: InstanceType<typeof SQSClient>, ...args: unknown[]) {
    if (handoffs.inFlight++ === 0) handoffs.since = performance.now();
    handoffs.calls += 1;
    handoffs.messages += messagesIn(args[0]);
    const settle = () => {
      if (--handoffs.inFlight === 0) handoffs.totalMs += performance.now() - handoffs.since;
    };
    const sent = (send as (...sendArgs: unknown[]) => Promise<unknown>).apply(this, args);
    sent.then(settle, settle);
    return sent;
  } as typeof send;
}

/** Messages one SQS command carries: a SendMessageBatch's entries, else one. */
function messagesIn(command: unknown): number {
  const entries = (command as { input?: { Entries?: unknown } } | undefined)?.input?.Entries;
  return Array.isArray(entries) ? entries.length : 1;
}

/** The handler under test and what each invocation of it is given. */
interface LoopTarget {
  handler: LambdaHandler;
  buildEvent: () => APIGatewayProxyEvent;
  buildContext: () => Context;
}

/** Non-2xx answers, warm-up included. */
interface Failures {
  count: number;
  first?: string;
}

async function runLoop(request: HandlerLoopRequest): Promise<HandlerLoopResult | ConcurrentLoopResult> {
  const concurrency = request.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`concurrency must be a whole number ≥ 1, not ${concurrency}`);
  installLambdaStreamingGlobal();
  // One at a time is classic Lambda; overlapping callers are a Managed Instances worker, whose
  // invocations keep their log keys and metrics apart in the invoke store (unless a what-if
  // measures what that costs).
  await installInvokeStore({ overlapping: concurrency > 1 && !(request.whatIfs ?? []).includes('no-overlap-store') });
  await applyWhatIfs(request.whatIfs ?? []);
  timeSqsSends();
  const path = request.path ?? `/serving-endpoints/${request.endpoint}/invocations`;
  const matched = matchRoute(readRoutes('serverless.yml'), 'POST', path);
  if (!matched) throw new Error(`serverless.yml has no route for POST ${path}`);
  const headers = {
    authorization: `Bearer ${request.apiKey}`,
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(request.body)),
    host: '127.0.0.1',
    'user-agent': 'modelgate-bench',
  };
  const target: LoopTarget = {
    handler: await loadHandler<LambdaHandler>(process.cwd(), matched.route.handler),
    buildEvent: () =>
      buildApiGatewayEvent({
        method: 'POST',
        path,
        query: new URLSearchParams(),
        headers,
        body: Buffer.from(request.body),
        sourceIp: '127.0.0.1',
        resource: matched.route.resource,
        pathParameters: matched.pathParameters,
        stage: 'local',
      }),
    buildContext: () => buildLambdaContext(matched.route.functionName, matched.route.timeoutSeconds),
  };
  return concurrency === 1 ? runOneAtATime(target, request) : runConcurrently(target, request, concurrency);
}

async function runOneAtATime(target: LoopTarget, request: HandlerLoopRequest): Promise<HandlerLoopResult> {
  const samples: HandlerSample[] = [];
  const failures: Failures = { count: 0 };
  const profiler = request.profileFile === undefined ? undefined : new Session();
  for (let i = 0; i < request.warmup + request.invocations; i += 1) {
    if (profiler && i === request.warmup) await startProfiler(profiler);
    // Building the event is API Gateway's work, so it stays outside the timed region.
    const event = target.buildEvent();
    const context = target.buildContext();

    handoffs.totalMs = 0;
    const cpuBefore = process.cpuUsage();
    const startedAt = performance.now();
    const result = await invokeHandler(target.handler, event, context);
    const wallMs = performance.now() - startedAt;
    const cpu = process.cpuUsage(cpuBefore);

    if (!answered(result, failures)) continue;
    if (i < request.warmup) continue;
    samples.push({
      requestId: String(result.headers?.['x-request-id'] ?? ''),
      wallMs,
      cpuUs: cpu.user + cpu.system,
      overheadHeaderMs: Number(result.headers?.['x-modelgate-overhead-ms']),
      handoffMs: handoffs.totalMs,
    });
  }
  if (profiler && request.profileFile) await stopProfiler(profiler, request.profileFile);
  return failures.first === undefined ? { samples, failures: failures.count } : { samples, failures: failures.count, firstFailure: failures.first };
}

/**
 * `concurrency` callers, each invoking the handler again as soon as its last invocation answers,
 * first through the warm-up, then through the measured phase, which is measured as a whole: the
 * process's CPU over it (per invocation it would be the overlapping invocations' too), its wall
 * time, and each invocation's wall time.
 */
async function runConcurrently(target: LoopTarget, request: HandlerLoopRequest, concurrency: number): Promise<ConcurrentLoopResult> {
  const samples: OverlappedSample[] = [];
  const failures: Failures = { count: 0 };
  const callAll = async (events: () => APIGatewayProxyEvent, count: number, measured: boolean) => {
    let next = 0;
    const caller = async () => {
      while (next < count) {
        next += 1;
        const event = events();
        const context = target.buildContext();
        const startedAt = performance.now();
        const result = await invokeHandler(target.handler, event, context);
        const wallMs = performance.now() - startedAt;
        if (!answered(result, failures) || !measured) continue;
        samples.push({
          requestId: String(result.headers?.['x-request-id'] ?? ''),
          wallMs,
          overheadHeaderMs: Number(result.headers?.['x-modelgate-overhead-ms']),
        });
      }
    };
    await Promise.all(Array.from({ length: concurrency }, caller));
  };

  await callAll(target.buildEvent, request.warmup, false);
  // Building the events is API Gateway's work, so it is done before the measured phase.
  const events = Array.from({ length: request.invocations }, target.buildEvent);
  const profiler = request.profileFile === undefined ? undefined : new Session();
  if (profiler) await startProfiler(profiler);
  handoffs.calls = 0;
  handoffs.messages = 0;
  const cpuBefore = process.cpuUsage();
  const startedAt = performance.now();
  await callAll(() => events.pop()!, request.invocations, true);
  const wallMs = performance.now() - startedAt;
  const cpu = process.cpuUsage(cpuBefore);
  if (profiler && request.profileFile) await stopProfiler(profiler, request.profileFile);

  const result: ConcurrentLoopResult = {
    concurrency,
    samples,
    phase: { invocations: request.invocations, wallMs, cpuUs: cpu.user + cpu.system, sqs: { calls: handoffs.calls, messages: handoffs.messages } },
    failures: failures.count,
  };
  if (failures.first !== undefined) result.firstFailure = failures.first;
  return result;
}

/** True for a 2xx answer; counts anything else as a failure. */
function answered(result: { statusCode: number; body: string }, failures: Failures): boolean {
  if (result.statusCode >= 200 && result.statusCode <= 299) return true;
  failures.count += 1;
  failures.first ??= `HTTP ${result.statusCode}: ${result.body.slice(0, 200)}`;
  return false;
}

async function startProfiler(profiler: Session): Promise<void> {
  profiler.connect();
  await profiler.post('Profiler.enable');
  await profiler.post('Profiler.setSamplingInterval', { interval: PROFILE_SAMPLING_INTERVAL_US });
  await profiler.post('Profiler.start');
}

async function stopProfiler(profiler: Session, profileFile: string): Promise<void> {
  const { profile } = await profiler.post('Profiler.stop');
  writeFileSync(profileFile, JSON.stringify(profile));
  profiler.disconnect();
}
