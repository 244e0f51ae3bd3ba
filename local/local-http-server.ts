import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { listenOrExplain } from './listen';

/** A running local HTTP stand-in (model server, provider servers, control APIs). */
export interface LocalHttpServer {
  /** Base URL, e.g. `http://127.0.0.1:8082`. */
  readonly url: string;
  readonly port: number;
  /** Stops listening, drops open connections and aborts `closing`. */
  close(): Promise<void>;
}

/** Handles one request; `closing` aborts when the server closes, so waits can stop. */
export type LocalRequestHandler = (request: IncomingMessage, response: ServerResponse, closing: AbortSignal) => Promise<void>;

/**
 * Starts an HTTP server on loopback the way every local stand-in does: Nagle off (streams go
 * out as written), a port in use named in one line, a handler failure answered by `fail` (or,
 * once the answer has begun, the connection dropped), and a close that does not wait for
 * pending delays or open keep-alive connections.
 */
export async function startLocalHttpServer(options: {
  host: string;
  port: number;
  what: string;
  handle: LocalRequestHandler;
  fail: (response: ServerResponse) => void;
}): Promise<LocalHttpServer> {
  const closing = new AbortController();
  const server = createServer({ noDelay: true }, (request, response) => {
    options.handle(request, response, closing.signal).catch(() => {
      if (!response.headersSent) options.fail(response);
      else response.destroy();
    });
  });
  const port = await listenOrExplain(server, { host: options.host, port: options.port, what: options.what });
  return {
    url: `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`,
    port,
    async close() {
      closing.abort();
      const closed = new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
      server.closeAllConnections();
      await closed;
    },
  };
}

/** Waits `ms`, unless the server closes first; resolves `false` when it did (its connections are being dropped). */
export async function waitUnlessClosing(ms: number, closing: AbortSignal): Promise<boolean> {
  try {
    await sleep(ms, undefined, { signal: closing });
    return true;
  } catch {
    return false;
  }
}
