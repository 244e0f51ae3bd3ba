import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildApiGatewayEvent, buildLambdaContext } from '../../local/api/api-gateway-event';
import { installLambdaStreamingGlobal, respondWithHandler, type LambdaHandler } from '../../local/api/lambda-streaming';
import { installInvokeStore } from '../../local/invoke-store';
import { matchRoute, readRoutes } from '../../local/api/routes';
import { cachedHandlerLoader } from '../../local/load-handler';
import { announceReady } from '../../local/processes/ready-line';
import { readBody } from '../../local/read-body';

// The thinnest HTTP entry to the real handlers: node:http, the API Gateway proxy event the local
// API builds, the handler module serverless.yml names, and nothing else (no timeouts, no other
// routes loaded). Against the local API it shows what the API Gateway stand-in itself costs.
// Runs with the stack's environment, so the handler's cold start wires the same adapters.
installLambdaStreamingGlobal();
// Requests overlap, as in the local API: each invocation keeps its own log keys and metrics.
await installInvokeStore({ overlapping: true });
const routes = readRoutes('serverless.yml');
const handlerOf = cachedHandlerLoader<LambdaHandler>(process.cwd());

const server = createServer((req, res) => {
  void (async () => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const matched = matchRoute(routes, req.method ?? 'GET', url.pathname);
    if (!matched) return void res.writeHead(404).end();
    const { bytes } = await readBody(req, 10 * 1024 * 1024);
    const event = buildApiGatewayEvent({
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body: bytes,
      sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
      resource: matched.route.resource,
      pathParameters: matched.pathParameters,
      stage: 'local',
    });
    const context = buildLambdaContext(matched.route.functionName, matched.route.timeoutSeconds);
    await respondWithHandler(await handlerOf(matched.route.handler), event, context, res);
  })().catch((error: unknown) => {
    process.stderr.write(`${String(error)}\n`);
    if (!res.headersSent) res.writeHead(502).end();
    else res.destroy();
  });
});
server.listen(0, '127.0.0.1', () => announceReady(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
