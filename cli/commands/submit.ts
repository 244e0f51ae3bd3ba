import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SendMessageBatchCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { createS3ObjectStore } from '../../lib/adapters/s3-object-store';
import { v7 as uuidv7 } from 'uuid';
import { sha256Hex } from '../../lib/core/audit-log/sha256';
import { isRequestId } from '../../lib/core/audit-log/layout';
import { inProducerSpace } from '../../lib/core/request-id-space';
import { ASYNC_REQUEST_MESSAGE_SCHEMA, inlineMessageText, referenceMessageText, requestBodyKey } from '../../lib/core/async/async-request-message';
import { resolveAsyncTarget, type AsyncTarget } from '../async-target';
import { EXIT, UsageError, wholeNumberOption, type CliIo, type Command, type CommandGroup } from '../command';
import { NoDeploymentError } from '../deployment';
import { formatTable } from '../table';

/** One job of a run, from submission to its end. */
interface Job {
  n: number;
  requestId?: string;
  /** `refused` at submission; `queued`/`running` until it ends; `missing` while the worker has not picked up a queue message yet. */
  status: 'refused' | 'queued' | 'running' | 'succeeded' | 'failed' | 'missing';
  statusCode?: number;
  result?: unknown;
  resultUrl?: string;
  error?: unknown;
}

const DEFAULT_BODY = '{"instances": ["job {{n}}: the service was quick and friendly"]}';
const TERMINAL = new Set<Job['status']>(['refused', 'succeeded', 'failed']);

const jobs: Command = {
  name: 'jobs',
  summary: 'Submit many async requests, watch them finish, and save every result',
  description: [
    'Submits --count generated bodies (--body, with {{n}} replaced by the job number) or one body per',
    'line of --file (JSON lines), --concurrency at a time, over HTTP (POST .../async-invocations with the',
    'API key) or straight onto the request queue (--via sqs, as an IAM producer, for --tenant). Then polls',
    'GET /requests/{id} until every accepted job succeeded or failed (or --timeout), printing progress, and',
    'writes one JSON line per job (number, request id, status, result or error) to --out.',
    'Exit 0 when every job was accepted and ended; 1 when some were refused, failed or did not end in time.',
  ].join('\n'),
  positionals: [{ name: 'endpoint', description: 'the serving endpoint to submit to', required: true }],
  options: {
    count: { type: 'string', valueName: 'n', description: 'how many generated jobs (default 100; not with --file)' },
    body: { type: 'string', valueName: 'json', description: `body template, {{n}} is the job number (default ${DEFAULT_BODY})` },
    file: { type: 'string', valueName: 'path', description: 'JSON lines: one request body per line' },
    via: { type: 'string', valueName: 'http|sqs', description: 'submit over the API (default) or straight onto the request queue' },
    tenant: { type: 'string', valueName: 'tenant', description: 'with --via sqs: the tenant the messages are for (local default: demo)' },
    concurrency: { type: 'string', valueName: 'n', description: 'submissions and status reads in flight (default 16)' },
    timeout: { type: 'string', valueName: 'seconds', description: 'stop watching after this long (default 600)' },
    out: { type: 'string', valueName: 'path', description: 'where the results go (default MODELGATE_HOME/submissions/<time>.jsonl)' },
  },
  examples: [
    'modelgate submit jobs sentiment --count 1000',
    'modelgate submit jobs iris --file rows.jsonl --out iris-results.jsonl',
    'modelgate submit jobs sentiment --count 200 --via sqs --tenant demo',
  ],
  async run({ positionals, values, json }, io) {
    const endpoint = positionals[0]!;
    const text = (name: string) => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
    const via = text('via') ?? 'http';
    if (via !== 'http' && via !== 'sqs') throw new UsageError('--via must be http or sqs');
    const concurrency = wholeNumberOption(text('concurrency') ?? '16', '--concurrency', 256);
    const timeoutMs = wholeNumberOption(text('timeout') ?? '600', '--timeout', 86_400) * 1000;
    const bodies = jobBodies(text('file'), text('count'), text('body'), io.cwd);
    const started = Date.now();
    // Checked before anything is submitted: the file is where the accepted requests' ids are kept.
    const out = resolve(io.cwd, text('out') ?? join(io.env.MODELGATE_HOME ?? '.modelgate', 'submissions', `${new Date(started).toISOString().replace(/[:.]/g, '-')}.jsonl`));
    if (existsSync(out) && statSync(out).isDirectory()) throw new UsageError(`--out ${out} is a directory; name a file`);
    const target = resolveAsyncTarget(io.env, io.cwd);
    if (!target.apiUrl || !target.apiKey) throw new NoDeploymentError('set MODELGATE_API_URL and MODELGATE_API_KEY (an API key of the tenant), or start the local stack');
    const tenant = text('tenant') ?? target.defaultTenant;
    if (via === 'sqs' && (!target.queueUrl || !tenant)) throw new UsageError('--via sqs needs the request queue (ASYNC_QUEUE_URL, ASYNC_BUCKET) and --tenant');
    const progress = throttled(io, json);

    const all: Job[] = bodies.map((_, n) => ({ n: n + 1, status: 'queued' }));
    try {
      await watchJobs();
    } finally {
      // Whatever stopped the run, the ids of what was accepted are kept; results and their
      // download links are the tenant's, readable by this user only.
      mkdirSync(dirname(out), { recursive: true });
      writeFileSync(out, all.map((job) => JSON.stringify(job)).join('\n') + (all.length ? '\n' : ''), { mode: 0o600 });
    }

    async function watchJobs(): Promise<void> {
      await inParallel(all.length, concurrency, async (index) => {
        const job = all[index]!;
        Object.assign(job, via === 'http' ? await submitOverHttp(target, endpoint, bodies[index]!) : await submitToQueue(target, endpoint, tenant!, bodies[index]!));
        progress(`submitted ${index + 1}/${all.length}`);
      });
      progress(`submitted ${all.length}/${all.length}: ${all.filter((job) => job.status !== 'refused').length} accepted, ${all.filter((job) => job.status === 'refused').length} refused`, true);

      while (Date.now() - started < timeoutMs) {
        const pending = all.filter((job) => !TERMINAL.has(job.status));
        if (pending.length === 0) break;
        // Oldest first, a chunk at a time; a chunk with nothing finished ends the round, so watching a
        // long backlog does not load the API with reads of requests still waiting their turn.
        for (let from = 0; from < pending.length; from += concurrency) {
          const chunk = pending.slice(from, from + concurrency);
          await inParallel(chunk.length, concurrency, async (index) => {
            Object.assign(chunk[index]!, await readStatus(target, chunk[index]!));
          });
          if (!chunk.some((job) => TERMINAL.has(job.status))) break;
        }
        progress(describeCounts(all, Date.now() - started));
        if (all.some((job) => !TERMINAL.has(job.status))) await new Promise((resolveWait) => setTimeout(resolveWait, 1_000));
      }
    }

    const counts = countsOf(all);
    const summary = { endpoint, via, ...counts, seconds: Math.round((Date.now() - started) / 100) / 10, out };
    if (json) {
      io.stdout(`${JSON.stringify(summary, null, 2)}\n`);
    } else {
      io.stdout(
        `${formatTable(
          [
            ['submitted', counts.submitted],
            ['accepted', counts.accepted],
            ['refused', counts.refused],
            ['succeeded', counts.succeeded],
            ['failed', counts.failed],
            ['not finished', counts.unfinished],
          ] as Array<[string, number]>,
          [
            { header: 'JOBS', value: (row) => row[0] },
            { header: 'COUNT', value: (row) => String(row[1]), right: true },
          ],
        )}\n\n` +
          `accepted ${counts.accepted} = succeeded ${counts.succeeded} + failed ${counts.failed} + not finished ${counts.unfinished}` +
          ` (${counts.accepted === counts.succeeded + counts.failed + counts.unfinished ? 'adds up' : 'DOES NOT ADD UP'}), in ${summary.seconds} s\n` +
          `Every job's request id and result or error: ${out}\n`,
      );
    }
    return counts.refused === 0 && counts.failed === 0 && counts.unfinished === 0 ? EXIT.ok : EXIT.problem;
  },
};

const status: Command = {
  name: 'status',
  summary: 'Show one async request: its status, and its result or error once it ended',
  positionals: [{ name: 'request-id', description: 'the request_id the submission answered', required: true }],
  examples: ['modelgate submit status 019a5a7c-3f1e-7b2a-9c4d-5e6f7a8b9c0d'],
  async run({ positionals }, io) {
    const id = positionals[0]!.toLowerCase();
    if (!isRequestId(id)) throw new UsageError(`${positionals[0]} is not a request id (a UUIDv7)`);
    const target = resolveAsyncTarget(io.env, io.cwd);
    if (!target.apiUrl || !target.apiKey) throw new NoDeploymentError('set MODELGATE_API_URL and MODELGATE_API_KEY, or start the local stack');
    const response = await fetch(`${target.apiUrl}/requests/${id}`, { headers: { authorization: `Bearer ${target.apiKey}` } });
    io.stdout(`${JSON.stringify(await response.json(), null, 2)}\n`);
    return response.ok ? EXIT.ok : EXIT.problem;
  },
};

const redrive: Command = {
  name: 'redrive',
  summary: 'Move dead-lettered async request messages back onto the request queue',
  description: [
    'Receives every message of the async DLQ, sends it to the request queue, then deletes it from the',
    'DLQ (a message is never deleted before it was sent). Requests that already ended are acknowledged by',
    'the worker without running again; the others run. In AWS the same is one call:',
    '  aws sqs start-message-move-task --source-arn <AsyncDeadLetterQueueArn> --destination-arn <AsyncRequestQueueArn>',
  ].join('\n'),
  options: { limit: { type: 'string', valueName: 'n', description: 'move at most n messages (default: all)' } },
  examples: ['modelgate submit redrive', 'modelgate submit redrive --limit 10 --json'],
  async run({ values, json }, io) {
    const limit = typeof values.limit === 'string' ? wholeNumberOption(values.limit, '--limit', 1_000_000) : Number.POSITIVE_INFINITY;
    const target = resolveAsyncTarget(io.env, io.cwd);
    if (!target.queueUrl || !target.deadLetterQueueUrl) throw new NoDeploymentError('set ASYNC_QUEUE_URL and ASYNC_DLQ_URL (stack outputs), or start the local stack');
    // A batch call succeeds while some of its entries fail (SQS answers 200 and lists them): only
    // what was sent is deleted from the DLQ, and only what was deleted counts as moved.
    let moved = 0;
    let notSent = 0;
    let sentButKept = 0;
    for (let handled = 0; handled < limit; handled = moved + notSent + sentButKept) {
      const { Messages = [] } = await target.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: target.deadLetterQueueUrl,
          MaxNumberOfMessages: Math.min(10, limit - handled),
          WaitTimeSeconds: 1,
          // Long enough that a message whose send failed is not received again in this run.
          VisibilityTimeout: 300,
          MessageAttributeNames: ['All'],
        }),
      );
      if (Messages.length === 0) break;
      const sent = await target.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: target.queueUrl,
          Entries: Messages.map((message, i) => ({ Id: String(i), MessageBody: message.Body ?? '', MessageAttributes: message.MessageAttributes })),
        }),
      );
      const sentIds = new Set((sent.Successful ?? []).map((entry) => entry.Id));
      const delivered = Messages.map((message, i) => ({ Id: String(i), ReceiptHandle: message.ReceiptHandle })).filter((entry) => sentIds.has(entry.Id));
      notSent += Messages.length - delivered.length;
      if (delivered.length === 0) continue;
      const deleted = await target.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: target.deadLetterQueueUrl, Entries: delivered }));
      const removed = deleted.Successful?.length ?? 0;
      moved += removed;
      sentButKept += delivered.length - removed;
    }
    if (json) io.stdout(`${JSON.stringify({ moved, notSent, sentButKept })}\n`);
    else {
      io.stdout(`Moved ${moved} message(s) from the DLQ back to the request queue.\n`);
      if (notSent > 0) io.stdout(`${notSent} could not be sent and stay in the DLQ (visible again in 5 minutes): run this again.\n`);
      if (sentButKept > 0) io.stdout(`${sentButKept} were sent but could not be deleted from the DLQ; a later redrive sends them again, and the worker runs each request once.\n`);
    }
    return notSent + sentButKept > 0 ? EXIT.problem : EXIT.ok;
  },
};

/** `modelgate submit ...`: async submissions for batch and pipeline owners. */
export const submitCommands: CommandGroup = {
  name: 'submit',
  summary: 'submit async jobs in bulk, watch them finish, read one back, redrive the DLQ',
  description: [
    'Where the API is:',
    '  local stack     MODELGATE_HOME/stack.json and demo-api-key (default .modelgate/), written by "npm start"',
    '  deployed stack  MODELGATE_API_URL (the ServiceEndpoint output) and MODELGATE_API_KEY; for --via sqs and',
    '                  redrive also ASYNC_QUEUE_URL, ASYNC_DLQ_URL, ASYNC_BUCKET and AWS credentials with the',
    '                  modelgate-<stage>-async-producer policy (redrive: sqs:ReceiveMessage/DeleteMessage on the DLQ).',
  ].join('\n'),
  commands: [jobs, status, redrive],
};

function jobBodies(file: string | undefined, count: string | undefined, template: string | undefined, cwd: string): string[] {
  if (file !== undefined && (count !== undefined || template !== undefined)) throw new UsageError('use --file, or --count/--body, not both');
  if (file !== undefined) {
    const lines = readFileSync(resolve(cwd, file), 'utf8').split('\n').filter((line) => line.trim() !== '');
    return lines.map((line, i) => {
      try {
        return JSON.stringify(JSON.parse(line));
      } catch {
        throw new UsageError(`${file} line ${i + 1} is not JSON`);
      }
    });
  }
  const n = wholeNumberOption(count ?? '100', '--count', 1_000_000);
  const shape = template ?? DEFAULT_BODY;
  return Array.from({ length: n }, (_, i) => {
    const text = shape.replaceAll('{{n}}', String(i + 1));
    try {
      return JSON.stringify(JSON.parse(text));
    } catch {
      throw new UsageError('--body is not JSON once {{n}} is replaced');
    }
  });
}

async function submitOverHttp(target: AsyncTarget, endpoint: string, body: string): Promise<Partial<Job>> {
  const response = await fetch(`${target.apiUrl}/serving-endpoints/${encodeURIComponent(endpoint)}/async-invocations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${target.apiKey}`, 'content-type': 'application/json', 'user-agent': 'modelgate-cli submit' },
    body,
  });
  const answer = (await response.json()) as { request_id?: string; error?: { request_id?: string } };
  if (response.status === 202 && answer.request_id) return { requestId: answer.request_id, status: 'queued' };
  return { requestId: answer.error?.request_id, status: 'refused', statusCode: response.status, error: answer.error ?? answer };
}

/** As an IAM producer: the versioned message, the body stored first when it is too large (claim check). */
async function submitToQueue(target: AsyncTarget, endpoint: string, tenant: string, body: string): Promise<Partial<Job>> {
  const head = { requestId: inProducerSpace(uuidv7()), tenant, endpoint };
  let text = inlineMessageText(head, body);
  if (text === undefined) {
    if (!target.bucket) throw new NoDeploymentError('a body too large for a message needs ASYNC_BUCKET (the AsyncBucketName output)');
    // Without the key named, S3 would encrypt under the account's aws/s3 key, which any principal
    // allowed to read the object can use: bodies must be under the stack's data key.
    if (!target.kmsKeyId) throw new NoDeploymentError('a body too large for a message needs AUDIT_KMS_KEY_ID (the DataKeyArn output)');
    // Create-only, as the bucket demands under requests/. The id is fresh, so an object already
    // there is this body, stored by an attempt the SDK retried after it had succeeded.
    const bodies = createS3ObjectStore(target.s3, { bucket: target.bucket, kmsKeyId: target.kmsKeyId });
    await bodies.put(requestBodyKey(head.requestId), new TextEncoder().encode(body), { contentType: 'application/json', ifNoneMatch: true });
    text = referenceMessageText(head, { sha256: sha256Hex(body), bytes: Buffer.byteLength(body) });
  }
  await target.sqs.send(
    new SendMessageCommand({
      QueueUrl: target.queueUrl,
      MessageBody: text,
      MessageAttributes: { schema: { DataType: 'String', StringValue: ASYNC_REQUEST_MESSAGE_SCHEMA }, requestId: { DataType: 'String', StringValue: head.requestId } },
    }),
  );
  // A producer's request exists once the worker has taken its message.
  return { requestId: head.requestId, status: 'missing' };
}

/** A job's status as the API tells it; nothing when the read failed (a 5xx, a page that is not JSON, a reset): asked again next round. */
async function readStatus(target: AsyncTarget, job: Job): Promise<Partial<Job>> {
  let view: { status?: Job['status']; status_code?: number; result?: unknown; result_url?: string; error?: unknown };
  try {
    const response = await fetch(`${target.apiUrl}/requests/${job.requestId}`, { headers: { authorization: `Bearer ${target.apiKey}` } });
    if (response.status === 404) return { status: 'missing' };
    if (!response.ok) return {};
    view = (await response.json()) as typeof view;
  } catch {
    return {};
  }
  if (view.status === undefined) return {};
  return {
    status: view.status,
    ...(view.status_code !== undefined ? { statusCode: view.status_code } : {}),
    ...(view.result !== undefined ? { result: view.result } : {}),
    ...(view.result_url !== undefined ? { resultUrl: view.result_url } : {}),
    ...(view.error !== undefined ? { error: view.error } : {}),
  };
}

function countsOf(all: readonly Job[]) {
  const count = (status: Job['status']) => all.filter((job) => job.status === status).length;
  const refused = count('refused');
  const succeeded = count('succeeded');
  const failed = count('failed');
  return { submitted: all.length, accepted: all.length - refused, refused, succeeded, failed, unfinished: all.length - refused - succeeded - failed };
}

function describeCounts(all: readonly Job[], elapsedMs: number): string {
  const count = (status: Job['status']) => all.filter((job) => job.status === status).length;
  const waiting = count('queued') + count('missing');
  return `${(elapsedMs / 1000).toFixed(0)} s: queued ${waiting} · running ${count('running')} · succeeded ${count('succeeded')} · failed ${count('failed')} · refused ${count('refused')}`;
}

/** Progress on stderr, at most every 2 s (and always when forced); none with --json. */
function throttled(io: CliIo, quiet: boolean): (line: string, force?: boolean) => void {
  let last = 0;
  return (line, force = false) => {
    if (quiet || (!force && Date.now() - last < 2_000)) return;
    last = Date.now();
    io.stderr(`${line}\n`);
  };
}

async function inParallel(count: number, width: number, work: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, count) }, async () => {
      while (next < count) await work(next++);
    }),
  );
}
