import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request the scripted server received, body read to the end. */
export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The body parsed as JSON. */
  json: Record<string, unknown>;
}

/** What the scripted server does with one request. */
export type Script = (request: ReceivedRequest, response: ServerResponse, raw: IncomingMessage) => unknown;

export interface ScriptedServer {
  url: string;
  requests: ReceivedRequest[];
  /** Replaces the script for the requests that follow. */
  answer(script: Script): void;
  close(): Promise<void>;
}

/** A tiny provider stand-in on 127.0.0.1 that answers as the test scripts it to. */
export async function startScriptedServer(script: Script = (_request, response) => response.writeHead(500).end()): Promise<ScriptedServer> {
  const requests: ReceivedRequest[] = [];
  let current = script;
  const server = createServer(async (raw, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of raw) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(body) as Record<string, unknown>;
    } catch {
      // Not every request the tests send has a JSON body.
    }
    const request: ReceivedRequest = { method: raw.method ?? '', path: raw.url ?? '', headers: raw.headers, body, json };
    requests.push(request);
    await current(request, response, raw);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    answer(next) {
      current = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Answers with a JSON body. */
export function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers }).end(text);
}

/** Starts a `text/event-stream` answer; the caller writes events and ends it. */
export function startEventStream(response: ServerResponse): { data(payload: unknown): void; event(name: string, payload: unknown): void } {
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  return {
    data(payload) {
      response.write(`data: ${typeof payload === 'string' ? payload : JSON.stringify(payload)}\n\n`);
    },
    event(name, payload) {
      response.write(`event: ${name}\ndata: ${JSON.stringify(payload)}\n\n`);
    },
  };
}

/** A URL on 127.0.0.1 where nothing listens: connecting is refused. */
export async function refusingUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

/** Everything an error says about itself, causes included: what could end up in a log or a response. */
export function everythingSaidBy(error: unknown): string {
  const parts: string[] = [];
  for (let current: unknown = error, depth = 0; current !== undefined && current !== null && depth < 6; depth += 1) {
    if (current instanceof Error) {
      parts.push(current.message, String(current.stack), JSON.stringify((current as { headers?: unknown }).headers ?? {}));
      current = current.cause;
    } else {
      parts.push(String(current));
      break;
    }
  }
  return parts.join('\n');
}
