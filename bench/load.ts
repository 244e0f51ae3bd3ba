import { Worker } from 'node:worker_threads';
import { summarize, type Distribution } from './stats';

/** Where a batch sends its requests: one URL, one body, the same headers every time. */
export interface LoadTarget {
  url: string;
  headers: Record<string, string>;
  body: string;
  /** Text every good answer's body contains (default `"predictions"`); a 2xx without it is a failure. */
  expect?: string;
}

/** A closed-loop batch: `concurrency` clients each send their next request when the last one answers. */
export interface BatchSpec {
  target: LoadTarget;
  concurrency: number;
  requests: number;
  /** Epoch ms after which no request is started (epoch, not `performance.now()`: threads differ in time origin). */
  deadline: number;
}

export interface BatchResult {
  /** Per completed request, send to last body byte. */
  latenciesMs: number[];
  /** `x-modelgate-overhead-ms` of each answer that carried one. */
  overheadHeaderMs: number[];
  completed: number;
  /** Answers that were not 2xx with the expected text, plus transport errors; the batch stops at the first. */
  failures: number;
  firstFailure?: string;
  /** True when the deadline cut the batch short (a duration-bounded batch ends this way). */
  timedOut: boolean;
  elapsedMs: number;
  /** CPU the load generator's own thread spent on the batch, in clock ticks. */
  loadGeneratorCpuTicks: number;
}

/** What every benchmark records of a batch it ran: how many answers, over how long, at what rate and latency. */
export interface BatchFigures {
  requests: number;
  elapsedMs: number;
  throughputRps: number;
  latencyMs: Distribution;
}

export function batchFigures(result: BatchResult): BatchFigures {
  return {
    requests: result.completed,
    elapsedMs: result.elapsedMs,
    throughputRps: result.completed / (result.elapsedMs / 1000),
    latencyMs: summarize(result.latenciesMs),
  };
}

export interface LoadGenerator {
  run(spec: BatchSpec): Promise<BatchResult>;
  close(): Promise<void>;
}

/** What the worker receives and answers. */
export interface BatchMessage {
  id: number;
  spec: BatchSpec;
}
export type BatchAnswer = { id: number; result: BatchResult } | { id: number; error: string };

/**
 * Starts the load generator in a worker thread of this process: node:http clients on a keep-alive
 * agent. A thread of its own, because the S3/SQS emulator runs on this process's main event loop,
 * and sharing that loop would delay the generator's timestamps behind emulator work.
 */
export function startLoadGenerator(): LoadGenerator {
  // Worker threads do not inherit tsx's loader, so the worker registers it before importing its TypeScript entry.
  const tsx = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./load-worker.ts', import.meta.url).href;
  const worker = new Worker(
    `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(entry)}); });`,
    { eval: true },
  );
  const pending = new Map<number, { resolve: (result: BatchResult) => void; reject: (error: Error) => void }>();
  let nextId = 0;
  let broken: Error | undefined;

  const failAll = (error: Error) => {
    broken = error;
    for (const { reject } of pending.values()) reject(error);
    pending.clear();
  };
  worker.on('message', (answer: BatchAnswer) => {
    const waiting = pending.get(answer.id);
    if (!waiting) return;
    pending.delete(answer.id);
    if ('error' in answer) waiting.reject(new Error(`load generator: ${answer.error}`));
    else waiting.resolve(answer.result);
  });
  worker.on('error', (error) => failAll(error));
  worker.on('exit', (code) => failAll(new Error(`load generator exited with code ${code}`)));

  return {
    run(spec) {
      if (broken) return Promise.reject(broken);
      const id = nextId++;
      return new Promise<BatchResult>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker.postMessage({ id, spec } satisfies BatchMessage);
      });
    },
    async close() {
      await worker.terminate();
    },
  };
}
