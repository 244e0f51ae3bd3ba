import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { listenOrExplain } from '../listen';
import { proxyFaultSchema, type ProxyFault } from './proxy-fault';

export type { ProxyFault } from './proxy-fault';

/** Where the proxy listens and what it forwards to. */
export interface FaultProxyOptions {
  /** Interface to listen on; default `127.0.0.1`. */
  host?: string;
  /** Port to listen on; `0` (the default) picks a free one, kept for the proxy's whole life. */
  port?: number;
  /** The server every connection is forwarded to. */
  target: { host: string; port: number };
}

/** What the proxy has seen. */
export interface FaultProxyStats {
  /** Connections accepted since the start, faulted ones included. */
  accepted: number;
  /** Connections open now. */
  active: number;
  /** Connections the proxy reset because of a `reset` fault. */
  reset: number;
  /** Connections accepted while a `blackhole` fault held them. */
  blackholed: number;
}

/** A running fault-injecting TCP proxy. */
export interface FaultProxy {
  /** `http://host:port` of the proxy, for HTTP clients. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly target: { readonly host: string; readonly port: number };
  /** The fault in force, if any. */
  readonly fault: ProxyFault | undefined;
  /** Puts a fault in force (or none, with `undefined`); resolves once it applies to every connection. */
  setFault(fault: ProxyFault | undefined): Promise<void>;
  clearFault(): Promise<void>;
  stats(): FaultProxyStats;
  /** Stops listening and drops every connection. */
  close(): Promise<void>;
}

/** One client connection and its connection to the target. */
interface Link {
  readonly client: Socket;
  upstream: Socket | undefined;
  /** Client bytes not yet sent to the target (not connected yet, or held). */
  readonly toTarget: Buffer[];
  clientEnded: boolean;
  /** Target bytes on their way to the client, each with the time it may go; `end` closes the client's side. */
  readonly toClient: Array<{ chunk: Buffer | 'end'; due: number }>;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Starts a TCP proxy on loopback that forwards to a target and injects network faults on
 * demand — added latency, connection resets, a black hole, a refusing port — so tests can
 * watch a client (the gateway's backends) live through them. Pure `node:net`; bytes are
 * forwarded untouched.
 */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const host = options.host ?? '127.0.0.1';
  const target = { ...options.target };
  const links = new Set<Link>();
  const counts: Omit<FaultProxyStats, 'active'> = { accepted: 0, reset: 0, blackholed: 0 };
  let fault: ProxyFault | undefined;
  let closed = false;

  const held = () => fault?.kind === 'blackhole';

  function accept(client: Socket): void {
    counts.accepted += 1;
    client.setNoDelay(true);
    if (fault?.kind === 'reset' || fault?.kind === 'refuse') {
      // `refuse` only reaches here for a connection accepted just before the listener closed.
      counts.reset += 1;
      client.resetAndDestroy();
      return;
    }
    const link: Link = { client, upstream: undefined, toTarget: [], clientEnded: false, toClient: [], timer: undefined };
    links.add(link);
    client.on('data', (chunk: Buffer) => {
      if (link.upstream?.readyState === 'open' && !held()) link.upstream.write(chunk);
      else link.toTarget.push(chunk);
    });
    client.on('end', () => {
      link.clientEnded = true;
      flushToTarget(link);
    });
    client.on('error', () => undefined);
    client.on('close', () => drop(link));
    if (held()) counts.blackholed += 1;
    else connectUpstream(link);
  }

  function connectUpstream(link: Link): void {
    const upstream = createConnection({ host: target.host, port: target.port, allowHalfOpen: true, noDelay: true });
    link.upstream = upstream;
    upstream.on('connect', () => flushToTarget(link));
    upstream.on('data', (chunk: Buffer) => toClient(link, chunk));
    upstream.on('end', () => toClient(link, 'end'));
    upstream.on('error', () => {
      // The target reset or refused: the client must see a failure, not a clean end.
      if (!link.client.destroyed) link.client.resetAndDestroy();
    });
    upstream.on('close', () => {
      if (!link.client.destroyed && !link.client.writableEnded && link.toClient.length === 0) link.client.destroy();
    });
  }

  function flushToTarget(link: Link): void {
    const upstream = link.upstream;
    if (upstream === undefined || upstream.readyState !== 'open' || held()) return;
    for (const chunk of link.toTarget.splice(0)) upstream.write(chunk);
    if (link.clientEnded && !upstream.writableEnded) upstream.end();
  }

  function toClient(link: Link, chunk: Buffer | 'end'): void {
    const delay = fault?.kind === 'latency' ? fault.ms : 0;
    link.toClient.push({ chunk, due: performance.now() + delay });
    pump(link);
  }

  /** Sends what is due to the client, in order; waits for the rest. */
  function pump(link: Link): void {
    if (link.timer !== undefined || held()) return;
    while (link.toClient.length > 0) {
      const next = link.toClient[0]!;
      const wait = next.due - performance.now();
      if (wait > 0) {
        link.timer = setTimeout(() => {
          link.timer = undefined;
          pump(link);
        }, Math.ceil(wait));
        return;
      }
      link.toClient.shift();
      if (link.client.destroyed) continue;
      if (next.chunk === 'end') link.client.end();
      else link.client.write(next.chunk);
    }
  }

  function drop(link: Link): void {
    links.delete(link);
    if (link.timer !== undefined) clearTimeout(link.timer);
    link.upstream?.destroy();
  }

  function newListener(): Server {
    return createServer({ allowHalfOpen: true, noDelay: true }, accept);
  }

  let listener = newListener();
  const port = await listenOrExplain(listener, { host, port: options.port ?? 0, what: 'fault proxy' });

  async function stopListening(): Promise<void> {
    if (!listener.listening) return;
    await new Promise<void>((resolve) => listener.close(() => resolve()));
  }

  async function setFault(next: ProxyFault | undefined): Promise<void> {
    if (closed) throw new Error('the fault proxy is closed');
    const previous = fault;
    fault = next === undefined ? undefined : proxyFaultSchema.parse(next);
    switch (fault?.kind) {
      case 'reset':
        for (const link of [...links]) {
          counts.reset += 1;
          link.client.resetAndDestroy();
          drop(link);
        }
        break;
      case 'refuse': {
        const stopped = stopListening();
        for (const link of [...links]) {
          link.client.destroy();
          drop(link);
        }
        await stopped;
        break;
      }
      default:
        break;
    }
    if (previous?.kind === 'refuse' && fault?.kind !== 'refuse') {
      listener = newListener();
      await listenOrExplain(listener, { host, port, what: 'fault proxy (listening again)' });
    }
    if (previous?.kind === 'blackhole' && !held()) {
      // The partition heals: held connections reach the target, held bytes flow.
      for (const link of links) {
        if (link.upstream === undefined) connectUpstream(link);
        else flushToTarget(link);
        pump(link);
      }
    }
  }

  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    host,
    port,
    target,
    get fault() {
      return fault;
    },
    setFault,
    clearFault: () => setFault(undefined),
    stats: () => ({ ...counts, active: links.size }),
    async close() {
      if (closed) return;
      closed = true;
      const stopped = stopListening();
      for (const link of [...links]) {
        link.client.destroy();
        drop(link);
      }
      await stopped;
    },
  };
}
