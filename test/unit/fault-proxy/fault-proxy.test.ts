import { once } from 'node:events';
import { createServer as createHttpServer, request as httpRequest, type Server as HttpServer } from 'node:http';
import { connect, createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxyControl } from '../../../local/fault-proxy/control-server';
import { startFaultProxy, type FaultProxy } from '../../../local/fault-proxy/fault-proxy';

let httpTarget: HttpServer;
let echoTarget: TcpServer;
let httpProxy: FaultProxy;
let echoProxy: FaultProxy;
const openSockets = new Set<Socket>();

beforeAll(async () => {
  httpTarget = createHttpServer((_request, response) => response.end('ok'));
  echoTarget = createTcpServer({ allowHalfOpen: true }, (socket) => socket.pipe(socket));
  await Promise.all([once(httpTarget.listen(0, '127.0.0.1'), 'listening'), once(echoTarget.listen(0, '127.0.0.1'), 'listening')]);
  httpProxy = await startFaultProxy({ target: { host: '127.0.0.1', port: (httpTarget.address() as AddressInfo).port } });
  echoProxy = await startFaultProxy({ target: { host: '127.0.0.1', port: (echoTarget.address() as AddressInfo).port } });
});

afterEach(async () => {
  for (const socket of openSockets) socket.destroy();
  openSockets.clear();
  await httpProxy.clearFault();
  await echoProxy.clearFault();
});

afterAll(async () => {
  await httpProxy.close();
  await echoProxy.close();
  httpTarget.closeAllConnections();
  await new Promise((resolve) => httpTarget.close(resolve));
  await new Promise((resolve) => echoTarget.close(resolve));
});

/** One HTTP GET on a fresh connection: the body, or the error code that ended it. */
function get(url: string, timeoutMs = 2_000): Promise<{ body?: string; error?: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const request = httpRequest(url, { agent: false, timeout: timeoutMs }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ body, ms: performance.now() - started }));
      response.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message, ms: performance.now() - started }));
    });
    request.on('timeout', () => request.destroy(Object.assign(new Error('client timeout'), { code: 'CLIENT_TIMEOUT' })));
    request.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message, ms: performance.now() - started }));
    request.end();
  });
}

/** A raw TCP connection through a proxy, with everything it receives and how it ended. */
async function openConnection(proxy: FaultProxy): Promise<{ socket: Socket; received: () => string; ended: Promise<string> }> {
  const socket = connect({ host: proxy.host, port: proxy.port });
  openSockets.add(socket);
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
  const ended = new Promise<string>((resolve) => {
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    socket.on('close', () => resolve('closed'));
  });
  await once(socket, 'connect');
  return { socket, received: () => received, ended };
}

async function waitFor(condition: () => boolean, timeoutMs = 1_000): Promise<void> {
  const giveUpAt = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > giveUpAt) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('fault proxy without a fault', () => {
  it('forwards bytes both ways untouched and counts the connection', async () => {
    // Prepare
    const before = echoProxy.stats().accepted;
    const { socket, received } = await openConnection(echoProxy);

    // Act
    socket.write('hello through the proxy');
    await waitFor(() => received() === 'hello through the proxy');

    // Assess
    expect(echoProxy.stats()).toMatchObject({ accepted: before + 1, active: 1 });
    expect(await get(httpProxy.url)).toMatchObject({ body: 'ok' });
  });

  it('passes a half-close through: the client ends, the answer still arrives', async () => {
    // Prepare
    const { socket, received, ended } = await openConnection(echoProxy);

    // Act
    socket.end('last words');

    // Assess
    expect(await ended).toBe('closed');
    expect(received()).toBe('last words');
  });
});

describe('fault proxy: latency', () => {
  it('delays every answer by the given time, on kept-alive connections too', async () => {
    // Prepare
    const { socket, received } = await openConnection(echoProxy);
    const fresh = await get(httpProxy.url);
    await echoProxy.setFault({ kind: 'latency', ms: 150 });
    await httpProxy.setFault({ kind: 'latency', ms: 150 });

    // Act
    const slowed = await get(httpProxy.url);
    const sentAt = performance.now();
    socket.write('ping');
    await waitFor(() => received() === 'ping');
    const echoMs = performance.now() - sentAt;

    // Assess
    expect(fresh.body).toBe('ok');
    expect(slowed.body).toBe('ok');
    expect(slowed.ms).toBeGreaterThanOrEqual(145);
    expect(slowed.ms).toBeLessThan(fresh.ms + 1_000);
    expect(echoMs).toBeGreaterThanOrEqual(145);
  });
});

describe('fault proxy: reset', () => {
  it('resets a new connection: the client sees ECONNRESET', async () => {
    // Prepare
    await httpProxy.setFault({ kind: 'reset' });
    const before = httpProxy.stats().reset;

    // Act
    const result = await get(httpProxy.url);

    // Assess
    expect(result.error).toBe('ECONNRESET');
    expect(httpProxy.stats().reset).toBe(before + 1);
  });

  it('resets connections already open when the fault is set', async () => {
    // Prepare
    const { ended } = await openConnection(echoProxy);

    // Act
    await echoProxy.setFault({ kind: 'reset' });

    // Assess
    expect(await ended).toBe('ECONNRESET');
  });
});

describe('fault proxy: black hole', () => {
  it('accepts and never answers nor closes: the client gives up on its own timeout', async () => {
    // Prepare
    await httpProxy.setFault({ kind: 'blackhole' });
    const before = httpProxy.stats().blackholed;

    // Act
    const result = await get(httpProxy.url, 200);

    // Assess
    expect(result.error).toBe('CLIENT_TIMEOUT');
    expect(result.ms).toBeGreaterThanOrEqual(195);
    expect(httpProxy.stats().blackholed).toBe(before + 1);
  });

  it('holds the bytes of an open connection, and lets them through when cleared', async () => {
    // Prepare
    const { socket, received } = await openConnection(echoProxy);
    await echoProxy.setFault({ kind: 'blackhole' });

    // Act
    socket.write('held');
    await new Promise((resolve) => setTimeout(resolve, 150));
    const whileHeld = received();
    await echoProxy.clearFault();
    await waitFor(() => received() === 'held');

    // Assess
    expect(whileHeld).toBe('');
    expect(socket.destroyed).toBe(false);
  });

  it('connects a connection it held from the start once cleared', async () => {
    // Prepare
    await echoProxy.setFault({ kind: 'blackhole' });
    const { socket, received } = await openConnection(echoProxy);
    socket.write('late');

    // Act
    await echoProxy.clearFault();

    // Assess
    await waitFor(() => received() === 'late');
  });
});

describe('fault proxy: refuse', () => {
  it('refuses new connections and closes open ones, then listens again on the same port when cleared', async () => {
    // Prepare
    const { ended } = await openConnection(echoProxy);

    // Act
    await httpProxy.setFault({ kind: 'refuse' });
    await echoProxy.setFault({ kind: 'refuse' });
    const refused = await get(httpProxy.url);
    await httpProxy.clearFault();
    const afterClearing = await get(httpProxy.url);

    // Assess
    expect(await ended).toBe('closed');
    expect(refused.error).toBe('ECONNREFUSED');
    expect(afterClearing.body).toBe('ok');
  });
});

describe('fault proxy: a target that is down', () => {
  it('resets the client connection when the target refuses', async () => {
    // Prepare
    const closedPort = await new Promise<number>((resolve) => {
      const probe = createTcpServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const proxy = await startFaultProxy({ target: { host: '127.0.0.1', port: closedPort } });

    try {
      // Act
      const result = await get(proxy.url);

      // Assess
      expect(result.error).toBe('ECONNRESET');
    } finally {
      await proxy.close();
    }
  });
});

describe('fault proxy: control API', () => {
  it('sets, reports and clears the fault over HTTP', async () => {
    // Prepare
    const control = await startFaultProxyControl(httpProxy);

    try {
      // Act
      const put = await fetch(`${control.url}/_fault`, { method: 'PUT', body: JSON.stringify({ kind: 'latency', ms: 5 }) });
      const stats = (await (await fetch(`${control.url}/_stats`)).json()) as Record<string, unknown>;
      const invalid = await fetch(`${control.url}/_fault`, { method: 'PUT', body: JSON.stringify({ kind: 'latency' }) });
      const deleted = await fetch(`${control.url}/_fault`, { method: 'DELETE' });

      // Assess
      expect(put.status).toBe(200);
      expect(stats).toMatchObject({ proxyUrl: httpProxy.url, fault: { kind: 'latency', ms: 5 }, accepted: expect.any(Number) });
      expect(invalid.status).toBe(400);
      expect(deleted.status).toBe(204);
      expect(httpProxy.fault).toBeUndefined();
    } finally {
      await control.close();
    }
  });
});

describe('startFaultProxy', () => {
  it('closes promptly while connections are open or held', async () => {
    // Prepare
    const proxy = await startFaultProxy({ target: { host: '127.0.0.1', port: (echoTarget.address() as AddressInfo).port } });
    const open = await openConnection(proxy);
    await proxy.setFault({ kind: 'blackhole' });
    const held = await openConnection(proxy);
    const started = performance.now();

    // Act
    await proxy.close();

    // Assess
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(await open.ended).toBe('closed');
    expect(await held.ended).toBe('closed');
  });
});
