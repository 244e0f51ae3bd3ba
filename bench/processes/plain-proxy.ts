import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { announceReady } from '../../local/processes/ready-line';

// The floor: a node:http server relaying each request to BACKEND_URL over keep-alive connections,
// with no auth, parsing or logging. What any Node HTTP hop costs at the least.
const backend = new URL(process.env.BACKEND_URL ?? 'http://127.0.0.1:8082');
const agent = new Agent({ keepAlive: true, maxSockets: 256, noDelay: true });
const server = createServer((req, res) => {
  const upstream = request({ agent, host: backend.hostname, port: backend.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  upstream.on('error', () => res.writeHead(502).end());
  req.pipe(upstream);
});
server.listen(0, '127.0.0.1', () => announceReady(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
