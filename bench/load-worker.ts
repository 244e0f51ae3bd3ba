import { Agent, request as httpRequest } from 'node:http';
import { parentPort } from 'node:worker_threads';
import type { BatchAnswer, BatchMessage, BatchResult, BatchSpec } from './load';
import { cpuTicksOf } from './proc-cpu';

// The load generator's thread (see load.ts). One batch at a time; each answer names its batch.
const port = parentPort;
if (!port) throw new Error('load-worker.ts runs only as a worker thread');

port.on('message', ({ id, spec }: BatchMessage) => {
  runBatch(spec).then(
    (result) => port.postMessage({ id, result } satisfies BatchAnswer),
    (error: unknown) => port.postMessage({ id, error: String(error) } satisfies BatchAnswer),
  );
});

interface Answer {
  status: number;
  body: string;
  overheadHeader: string | undefined;
}

async function runBatch(spec: BatchSpec): Promise<BatchResult> {
  // A fresh agent per batch: sockets left idle between batches could be closed by the server's
  // keep-alive timeout just as a request reuses them, which would read as a gateway failure.
  const agent = new Agent({ keepAlive: true, maxSockets: spec.concurrency, noDelay: true });
  const url = new URL(spec.target.url);
  const body = Buffer.from(spec.target.body);
  const headers = { ...spec.target.headers, 'content-length': String(body.byteLength) };
  const result: BatchResult = {
    latenciesMs: [],
    overheadHeaderMs: [],
    completed: 0,
    failures: 0,
    timedOut: false,
    elapsedMs: 0,
    loadGeneratorCpuTicks: 0,
  };
  let started = 0;
  const expected = spec.target.expect ?? '"predictions"';

  const client = async () => {
    while (started < spec.requests && result.failures === 0) {
      if (Date.now() >= spec.deadline) {
        result.timedOut = true;
        return;
      }
      started += 1;
      const sentAt = performance.now();
      try {
        const answer = await post(agent, url, headers, body);
        const latencyMs = performance.now() - sentAt;
        if (answer.status < 200 || answer.status > 299 || !answer.body.includes(expected)) {
          result.failures += 1;
          result.firstFailure ??= `HTTP ${answer.status}: ${answer.body.slice(0, 200)}`;
          continue;
        }
        result.latenciesMs.push(latencyMs);
        result.completed += 1;
        if (answer.overheadHeader !== undefined) result.overheadHeaderMs.push(Number(answer.overheadHeader));
      } catch (error) {
        result.failures += 1;
        result.firstFailure ??= String(error);
      }
    }
  };

  const cpuBefore = cpuTicksOf('thread-self');
  const batchStartedAt = performance.now();
  try {
    await Promise.all(Array.from({ length: spec.concurrency }, client));
  } finally {
    agent.destroy();
  }
  result.elapsedMs = performance.now() - batchStartedAt;
  result.loadGeneratorCpuTicks = cpuTicksOf('thread-self') - cpuBefore;
  return result;
}

function post(agent: Agent, url: URL, headers: Record<string, string>, body: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      { agent, host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          const overhead = response.headers['x-modelgate-overhead-ms'];
          resolve({
            status: response.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            overheadHeader: Array.isArray(overhead) ? overhead[0] : overhead,
          });
        });
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}
