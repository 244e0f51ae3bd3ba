import { buildApiGatewayEvent, buildLambdaContext } from '../../local/api/api-gateway-event';
import { installLambdaStreamingGlobal, invokeHandler, type LambdaHandler } from '../../local/api/lambda-streaming';
import { matchRoute, readRoutes } from '../../local/api/routes';
import type { HandlerLoopRequest, HandlerLoopResult, HandlerSample } from '../handler-in-process';

// Calls the invoke handler in a loop, in this process, as a warm Lambda container would: no HTTP
// in front of it. Started by handler-in-process.ts with the stack's environment already set, so
// the handler's cold start (which reads process.env) sees it; the request arrives over IPC.
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

async function runLoop(request: HandlerLoopRequest): Promise<HandlerLoopResult> {
  installLambdaStreamingGlobal();
  const { handler } = (await import('../../functions/invoke')) as { handler: LambdaHandler };
  const path = `/serving-endpoints/${request.endpoint}/invocations`;
  const matched = matchRoute(readRoutes('serverless.yml'), 'POST', path);
  if (!matched) throw new Error(`serverless.yml has no route for POST ${path}`);
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
  for (let i = 0; i < request.warmup + request.invocations; i += 1) {
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
    });
  }
  return firstFailure === undefined ? { samples, failures } : { samples, failures, firstFailure };
}
