import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { z } from 'zod';
import { listenOrExplain } from '../listen';
import { readBody } from '../read-body';
import type { FaultProxy } from './fault-proxy';
import { proxyFaultSchema } from './proxy-fault';

/** A running control API for a fault proxy. */
export interface FaultProxyControl {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves a fault proxy's controls over HTTP, for a proxy running in another process:
 * `PUT /_fault` (a fault as JSON), `DELETE /_fault`, and `GET /_stats` →
 * `{"proxyUrl", "target", "fault", "accepted", "active", "reset", "blackholed"}`.
 */
export async function startFaultProxyControl(proxy: FaultProxy, options: { host?: string; port?: number } = {}): Promise<FaultProxyControl> {
  const host = options.host ?? '127.0.0.1';
  const server = createServer((request, response) => {
    route(request, response).catch((error: unknown) => {
      if (!response.headersSent) sendJson(response, 500, { message: error instanceof Error ? error.message : String(error) });
    });
  });

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

  const port = await listenOrExplain(server, { host, port: options.port ?? 0, what: 'fault proxy control API' });
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    async close() {
      const closed = new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
      server.closeAllConnections();
      await closed;
    },
  };
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) }).end(text);
}
