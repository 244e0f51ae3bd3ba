import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildApiGatewayEvent, buildLambdaContext } from '../../local/api/api-gateway-event';
import { installLambdaStreamingGlobal, invokeHandler, type LambdaHandler } from '../../local/api/lambda-streaming';
import { matchRoute, readRoutes } from '../../local/api/routes';
import type { HandlerLoopRequest, HandlerLoopResult, HandlerSample } from '../handler-in-process';
import { applyWhatIfs } from './what-if';

// Calls a handler in a loop, in this process, as a warm Lambda container would: no HTTP in front
// of it. Started by handler-in-process.ts with the stack's environment already set, so the
// handler's cold start (which reads process.env) sees it; the request arrives over IPC.
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
 * only. Invocations run one at a time here, so every send belongs to the current one.
 */
const handoffs = { inFlight: 0, since: 0, totalMs: 0 };

async function timeSqsSends(): Promise<void> {
  // Imported only now: the SDK creates an empty `awslambda` global when loaded, and
  // installLambdaStreamingGlobal leaves an existing one alone.
  const { SQSClient } = await import('@aws-sdk/client-sqs');
  const send = SQSClient.prototype.send;
  SQSClient.prototype.send = function timedSend(this: InstanceType<typeof SQSClient>, ...args: unknown[]) {
    if (handoffs.inFlight++ === 0) handoffs.since = performance.now();
    const settle = () => {
      if (--handoffs.inFlight === 0) handoffs.totalMs += performance.now() - handoffs.since;
    };
    const sent = (send as (...sendArgs: unknown[]) => Promise<unknown>).apply(this, args);
    sent.then(settle, settle);
    return sent;
  } as typeof send;
}

async function runLoop(request: HandlerLoopRequest): Promise<HandlerLoopResult> {
  installLambdaStreamingGlobal();
  await applyWhatIfs(request.whatIfs ?? []);
  await timeSqsSends();
  const path = request.path ?? `/serving-endpoints/${request.endpoint}/invocations`;
  const matched = matchRoute(readRoutes('serverless.yml'), 'POST', path);
  if (!matched) throw new Error(`serverless.yml has no route for POST ${path}`);
  const dot = matched.route.handler.lastIndexOf('.');
  const module = (await import(pathToFileURL(resolve(`${matched.route.handler.slice(0, dot)}.ts`)).href)) as Record<string, unknown>;
  const handler = module[matched.route.handler.slice(dot + 1)] as LambdaHandler;
  const headers = {
    authorization: `Bearer ${request.apiKey}`,
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(request.body)),
    host: '127.0.0.1',
    'user-agent': 'modelgate-bench',
  };

  const samples: HandlerSample[] = [];
  let failures = 0;
  let firstFailure: string | undefined;
  const profiler = request.profileFile === undefined ? undefined : new Session();
  for (let i = 0; i < request.warmup + request.invocations; i += 1) {
    if (profiler && i === request.warmup) {
      profiler.connect();
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.setSamplingInterval', { interval: 100 });
      await profiler.post('Profiler.start');
    }
    // Building the event is API Gateway's work, so it stays outside the timed region.
    const event = buildApiGatewayEvent({
      method: 'POST',
      path,
      query: new URLSearchParams(),
      headers,
      body: Buffer.from(request.body),
      sourceIp: '127.0.0.1',
      resource: matched.route.resource,
      pathParameters: matched.pathParameters,
      stage: 'local',
    });
    const context = buildLambdaContext(matched.route.functionName, matched.route.timeoutSeconds);

    handoffs.totalMs = 0;
    const cpuBefore = process.cpuUsage();
    const startedAt = performance.now();
    const result = await invokeHandler(handler, event, context);
    const wallMs = performance.now() - startedAt;
    const cpu = process.cpuUsage(cpuBefore);

    if (result.statusCode < 200 || result.statusCode > 299) {
      failures += 1;
      firstFailure ??= `HTTP ${result.statusCode}: ${result.body.slice(0, 200)}`;
      continue;
    }
    if (i < request.warmup) continue;
    samples.push({
      requestId: String(result.headers?.['x-request-id'] ?? ''),
      wallMs,
      cpuUs: cpu.user + cpu.system,
      overheadHeaderMs: Number(result.headers?.['x-modelgate-overhead-ms']),
      handoffMs: handoffs.totalMs,
    });
  }
  if (profiler && request.profileFile) {
    const { profile } = await profiler.post('Profiler.stop');
    writeFileSync(request.profileFile, JSON.stringify(profile));
    profiler.disconnect();
  }
  return firstFailure === undefined ? { samples, failures } : { samples, failures, firstFailure };
}
