import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { startLocalHttpServer, type LocalHttpServer } from '../local-http-server';
import { readBody } from '../read-body';
import type { FaultProxy } from './fault-proxy';
import { proxyFaultSchema } from './proxy-fault';

/** A running control API for a fault proxy. */
export type FaultProxyControl = LocalHttpServer;

/**
 * Serves a fault proxy's controls over HTTP, for a proxy running in another process:
 * `PUT /_fault` (a fault as JSON), `DELETE /_fault`, and `GET /_stats` →
 * `{"proxyUrl", "target", "fault", "accepted", "active", "reset", "blackholed"}`.
 */
export async function startFaultProxyControl(proxy: FaultProxy, options: { host?: string; port?: number } = {}): Promise<FaultProxyControl> {
  async function route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '/').split('?', 1)[0];
    const body = await readBody(request, 64 * 1024);
    if (path === '/_stats' && request.method === 'GET') {
      return sendJson(response, 200, { proxyUrl: proxy.url, target: proxy.target, fault: proxy.fault ?? null, ...proxy.stats() });
    }
    if (path !== '/_fault') return sendJson(response, 404, { message: 'use PUT|DELETE /_fault or GET /_stats' });
    if (request.method === 'DELETE') {
      await proxy.clearFault();
      response.writeHead(204).end();
      return;
    }
    if (request.method !== 'PUT') return sendJson(response, 405, { message: 'use PUT or DELETE' });
    let candidate: unknown;
    try {
      candidate = JSON.parse(body.bytes.toString('utf8'));
    } catch {
      return sendJson(response, 400, { message: 'fault body is not valid JSON' });
    }
    const parsed = proxyFaultSchema.safeParse(candidate);
    if (!parsed.success) return sendJson(response, 400, { message: z.prettifyError(parsed.error) });
    await proxy.setFault(parsed.data);
    sendJson(response, 200, { fault: parsed.data });
  }

  return startLocalHttpServer({
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
    what: 'fault proxy control API',
    handle: route,
    fail: (response) => sendJson(response, 500, { message: 'the control API failed' }),
  });
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) }).end(text);
}
