import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { buildApiGatewayEvent, buildLambdaContext } from './api-gateway-event';
import { readGatewayResponses, type GatewayResponseType } from './gateway-responses';
import { installInvokeStore } from '../invoke-store';
import { installLambdaStreamingGlobal, isStreamingHandler, respondWithHandler, type LambdaHandler } from './lambda-streaming';
import { matchRoute, readRoutes, type Route } from './routes';
import { listenOrExplain } from '../listen';
import { cachedHandlerLoader } from '../load-handler';
import { readBody } from '../read-body';

export interface LocalApiOptions {
  host?: string;
  port?: number;
  /** Project root: serverless.yml and the handler modules are resolved from here. */
  root?: string;
  stage?: string;
}

export interface LocalApi {
  url: string;
  port: number;
  routes: readonly Route[];
  close(): Promise<void>;
}

/** API Gateway's REST payload limit. */
const MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;

/**
 * A local stand-in for API Gateway: routes from serverless.yml, the same proxy events, the real
 * handler modules (each loaded once, like a warm Lambda container), and API Gateway's own
 * answers where it would answer instead of the function (payload too large, timeouts, crashes).
 */
export async function startLocalApi(options: LocalApiOptions = {}): Promise<LocalApi> {
  const root = options.root ?? process.cwd();
  const host = options.host ?? '127.0.0.1';
  const stage = options.stage ?? 'local';
  const routes = readRoutes(resolve(root, 'serverless.yml'));
  const gatewayResponse = readGatewayResponses(resolve(root, 'serverless.yml'));
  /** API Gateway answering itself, in the shape serverless.yml gives its gateway responses. */
  const answerAsGateway = (res: ServerResponse, type: GatewayResponseType) => {
    const { status, headers, body } = gatewayResponse(type, randomUUID());
    send(res, status, headers, body);
  };
  // Streaming handlers (middy's streamifyResponse) need Lambda's `awslambda` global at import;
  // requests overlap, so invocations keep their log keys and metrics apart as on Managed Instances.
  installLambdaStreamingGlobal();
  await installInvokeStore({ overlapping: true });
  const handlerNamed = cachedHandlerLoader<LambdaHandler>(root);
  const handlerOf = (route: Route): Promise<LambdaHandler> => handlerNamed(route.handler);

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      console.error(JSON.stringify({ level: 'ERROR', message: 'local API failure', error: String(error) }));
      if (!res.headersSent) answerAsGateway(res, 'DEFAULT_5XX');
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const { bytes: body, overLimit } = await readBody(req, MAX_PAYLOAD_BYTES);
    if (overLimit) {
      answerAsGateway(res, 'REQUEST_TOO_LARGE');
      return;
    }
    const method = (req.method ?? 'GET').toUpperCase();
    const matched = matchRoute(routes, method, url.pathname);
    if (!matched) {
      // API Gateway's answer for a path and method no resource serves.
      answerAsGateway(res, 'MISSING_AUTHENTICATION_TOKEN');
      return;
    }
    const event = buildApiGatewayEvent({
      method,
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body,
      sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
      resource: matched.route.resource,
      pathParameters: matched.pathParameters,
      stage,
    });
    const handler = await handlerOf(matched.route);
    const context = buildLambdaContext(matched.route.functionName, matched.route.timeoutSeconds);
    // API Gateway cuts a buffered integration at 29 s; a streamed one may run to the function's timeout.
    const limitSeconds = isStreamingHandler(handler) ? matched.route.timeoutSeconds : Math.min(matched.route.timeoutSeconds, 29);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolveTimeout) => {
      timer = setTimeout(() => resolveTimeout('timeout'), limitSeconds * 1000);
    });
    let result: void | 'timeout';
    try {
      result = await Promise.race([respondWithHandler(handler, event, context, res), timedOut]);
    } catch (error) {
      console.error(JSON.stringify({ level: 'ERROR', message: 'handler crashed', function: matched.route.functionName, error: String(error) }));
      if (!res.headersSent) answerAsGateway(res, 'DEFAULT_5XX');
      else res.destroy();
      return;
    } finally {
      clearTimeout(timer);
    }
    if (result === 'timeout') {
      if (!res.headersSent) answerAsGateway(res, 'INTEGRATION_TIMEOUT');
      else res.destroy();
    }
  }

  // Load every handler now, as Lambda's init phase would: a bad config stops the start, loudly.
  await Promise.all(routes.map(handlerOf));

  const port = await listenOrExplain(server, { host, port: options.port ?? 3000, what: 'local API' });
  return {
    url: `http://${host}:${port}`,
    port,
    routes,
    close: () =>
      new Promise<void>((resolveClose) => {
        server.closeAllConnections();
        server.close(() => resolveClose());
      }),
  };
}

function send(res: ServerResponse, status: number, headers: Record<string, string>, body: string | Buffer): void {
  res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

