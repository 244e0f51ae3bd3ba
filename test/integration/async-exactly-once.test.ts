import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { v7 as uuidv7 } from 'uuid';
import { inGatewaySpace, inProducerSpace } from '../../lib/core/request-id-space';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoDbJobStore } from '../../lib/adapters/dynamodb-job-store';
import { createS3ObjectStore } from '../../lib/adapters/s3-object-store';
import { createSqsAsyncRequestQueue } from '../../lib/adapters/sqs-async-request-queue';
import { createSqsAuditSink } from '../../lib/adapters/sqs-audit-sink';
import { createSqsUsageSink } from '../../lib/adapters/sqs-usage-sink';
import { systemClock } from '../../lib/adapters/system-clock';
import { apiKeyRecordFor, newApiKey } from '../../lib/core/api-key';
import { ASYNC_REQUEST_MESSAGE_SCHEMA } from '../../lib/core/async/async-request-message';
import { isSettled } from '../../lib/core/async/async-request';
import { processAsyncBatch } from '../../lib/http/process-async-batch';
import type { AsyncWorkerDeps, MessageDisposition } from '../../lib/core/async/run-async-message';
import { serveAsyncSubmission, type AsyncSubmissionDeps } from '../../lib/core/async/serve-async-submission';
import { USAGE_EVENT_ATTRIBUTE } from '../../lib/core/audit-log/archivable-record';
import type { AuditRecord } from '../../lib/core/audit-record';
import { CircuitBreakers } from '../../lib/core/circuit-breaker';
import { createEndpointRegistry } from '../../lib/core/endpoint-registry';
import { ServiceUnavailableError } from '../../lib/core/errors';
import type { UsageEvent } from '../../lib/core/usage-event';
import type { AsyncRequestQueue } from '../../lib/ports/async-request-queue';
import { createRequestsTable } from '../../local/stack';
import { installInvokeStore } from '../../local/invoke-store';
import { startSqsPoller, type SqsPoller } from '../../local/sqs-poller';
import { FakeKeyStore, ScriptedBackend, scriptedRegistry } from '../fakes/fake-ports';
import { stackClient } from './stack-client';

// Nothing lost, nothing doubled, at volume: 10,000 submissions (9,000 through the submission API's
// core, 1,000 sent straight onto the queue as a producer would), 10% of them delivered twice (the
// same message sent again), 5% failing transiently once at the backend, 1% poison (the backend
// crashes on them every time).
//
// How it runs: the real worker logic (processAsyncBatch → runAsyncMessage, the same code the
// Lambda handler calls) and the real adapters, in this process, against the local stack's own
// emulators (fauxqs for SQS and S3, dynalite for DynamoDB, in the stack's process) but on queues,
// a table and a bucket of this test's own. The local SQS poller drives the worker as Lambda's
// event source mapping does: long polls, batches of 10, four invocations in flight, partial batch
// responses, deletes of what succeeded. Retries ride on SQS itself: the worker's visibility
// backoff (1-2 s here), receive counts, and the queue's RedrivePolicy (maxReceiveCount 5) moving
// poison messages to the DLQ. Only the model is scripted (no model server), so the failure mix is
// exact. Audit records and usage events go to real queues, drained and counted at the end.
const client = stackClient();
const TOTAL = 10_000;
const VIA_QUEUE = 1_000;
const MAX_RECEIVE_COUNT = 5;
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

type Kind = 'ok' | 'transient' | 'poison';
/** Exactly 1% poison and 5% transient; half of each also among the 10% delivered twice. */
function kindOf(index: number): Kind {
  if (index % 200 === 37 || index % 200 === 142) return 'poison';
  if (index % 40 === 7 || index % 40 === 12) return 'transient';
  return 'ok';
}
const duplicated = (index: number) => index % 10 === 7;

describe('nothing lost, nothing doubled: 10,000 async requests with duplicates, transient failures and poison', () => {
  const suffix = `eo-${Date.now()}`;
  const sqs = new SQSClient({ region: 'us-east-1', endpoint: client.stack.emulatorUrl, credentials });
  const s3 = new S3Client({ region: 'us-east-1', endpoint: client.stack.emulatorUrl, forcePathStyle: true, credentials });
  const dynamo = new DynamoDBClient({ region: 'us-east-1', endpoint: client.stack.dynamoDbUrl, credentials });
  const calls = new Map<number, number>();
  const answered = new Map<number, number>();
  const dispositions: MessageDisposition[] = [];
  const ids: string[] = [];
  let queues: { requests: string; deadLetters: string; audit: string; usage: string };
  let poller: SqsPoller | undefined;
  let requestsArn: string;

  async function queue(name: string, attributes: Record<string, string> = {}) {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-${suffix}`, Attributes: attributes }));
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
    return { url: QueueUrl!, arn: Attributes!.QueueArn! };
  }

  beforeAll(async () => {
    await installInvokeStore({ overlapping: false });
    const deadLetters = await queue('eo-requests-dlq');
    const requests = await queue('eo-requests', {
      VisibilityTimeout: '30',
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: deadLetters.arn, maxReceiveCount: MAX_RECEIVE_COUNT }),
    });
    queues = { requests: requests.url, deadLetters: deadLetters.url, audit: (await queue('eo-audit')).url, usage: (await queue('eo-usage')).url };
    await s3.send(new CreateBucketCommand({ Bucket: `modelgate-${suffix}` }));
    await createRequestsTable(dynamo, `modelgate-local-${suffix}`);
    requestsArn = requests.arn;
  });

  afterAll(async () => {
    await poller?.stop();
  });

  it('ends every request in exactly one terminal state, with one model answer, audit record and usage event each', async () => {
    // Prepare: the ports, real but for the model.
    const apiKey = newApiKey();
    const endpoints = createEndpointRegistry({
      version: 1,
      endpoints: [
        {
          name: 'scripted',
          task: 'custom',
          timeoutMs: 5_000,
          // No in-request retry: a transient failure goes back to the queue.
          routing: { retries: 0, breakerFailures: 1_000 },
          servedEntities: [{ name: 'scripted-v1', backend: 'sagemaker', endpointName: 'scripted-v1' }],
        },
      ],
      queueProducers: [{ tenant: 'load', endpoints: ['scripted'] }],
    });
    const backend = new ScriptedBackend(async (call) => {
      const index = Number(/job (\d+)/.exec(new TextDecoder().decode(call.input as Uint8Array))![1]);
      const seen = (calls.get(index) ?? 0) + 1;
      calls.set(index, seen);
      if (kindOf(index) === 'poison') throw new TypeError(`scripted crash on job ${index}`);
      if (kindOf(index) === 'transient' && seen === 1) throw new ServiceUnavailableError('BACKEND_THROTTLED', 'scripted throttle');
      answered.set(index, (answered.get(index) ?? 0) + 1);
      return { body: new TextEncoder().encode(JSON.stringify({ predictions: [index] })), contentType: 'application/json' };
    });
    const objects = createS3ObjectStore(s3, { bucket: `modelgate-${suffix}` });
    const jobs = createDynamoDbJobStore(DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } }), `modelgate-local-${suffix}`);
    const sentTexts = new Map<string, string>();
    const realQueue = createSqsAsyncRequestQueue(sqs, queues.requests);
    const recordingQueue: AsyncRequestQueue = {
      send: async (text, attributes) => {
        await realQueue.send(text, attributes);
        sentTexts.set(attributes.requestId, text);
      },
      retryLater: (handle, seconds) => realQueue.retryLater(handle, seconds),
    };
    const audit = createSqsAuditSink(sqs, { queueUrl: queues.audit, bodies: objects });
    const usage = createSqsUsageSink(sqs, queues.usage);
    const keys = new FakeKeyStore([apiKeyRecordFor(apiKey, { tenant: 'load', roles: ['invoke'], endpoints: ['scripted'], now: new Date() })]);
    const submission: AsyncSubmissionDeps = {
      endpoints, keys, jobs, queue: recordingQueue, objects, audit, usage, clock: systemClock,
      settings: { idempotencyWindowSeconds: 3_600, retentionDays: 1 },
      newRequestId: () => inGatewaySpace(uuidv7()),
    };
    const worker: AsyncWorkerDeps = {
      endpoints, keys, jobs, queue: realQueue, objects, audit, usage, clock: systemClock,
      backends: scriptedRegistry(backend),
      breakers: new CircuitBreakers(),
      retry: { maxReceiveCount: MAX_RECEIVE_COUNT, baseDelaySeconds: 1, maxDelaySeconds: 2 },
      leaseMs: 60_000,
      retentionDays: 1,
    };

    // Act 1: submit 10,000 (32 at a time), then the duplicates.
    const startedAt = performance.now();
    const viaApi = TOTAL - VIA_QUEUE;
    // Ids as each path mints them: the gateway's for submissions, a producer's for direct messages.
    for (let i = 0; i < TOTAL; i += 1) ids.push(i < viaApi ? inGatewaySpace(uuidv7()) : inProducerSpace(uuidv7()));
    await inParallel(viaApi, 32, async (index) => {
      const outcome = await serveAsyncSubmission(
        {
          requestId: ids[index]!,
          receivedAt: new Date(),
          startedAt: performance.now(),
          endpointName: 'scripted',
          authorization: `Bearer ${apiKey}`,
          contentType: 'application/json',
          body: new TextEncoder().encode(JSON.stringify({ instances: [`job ${index}`] })),
          clientIp: '127.0.0.1',
          userAgent: 'exactly-once-test',
          idempotencyKey: undefined,
          apiBaseUrl: 'http://127.0.0.1',
        },
        submission,
      );
      if (outcome.statusCode !== 202) throw new Error(`job ${index} was refused: ${new TextDecoder().decode(outcome.body)}`);
    });
    const direct = Array.from({ length: VIA_QUEUE }, (_, k) => viaApi + k);
    for (let k = 0; k < direct.length; k += 10) {
      const entries = direct.slice(k, k + 10).map((index) => {
        const text = JSON.stringify({ schema: ASYNC_REQUEST_MESSAGE_SCHEMA, requestId: ids[index], tenant: 'load', endpoint: 'scripted', body: { instances: [`job ${index}`] } });
        sentTexts.set(ids[index]!, text);
        return { Id: String(index), MessageBody: text };
      });
      await sqs.send(new SendMessageBatchCommand({ QueueUrl: queues.requests, Entries: entries }));
    }
    const duplicates = ids.map((id, index) => ({ id, index })).filter(({ index }) => duplicated(index));
    for (let k = 0; k < duplicates.length; k += 10) {
      const entries = duplicates.slice(k, k + 10).map(({ id, index }) => ({ Id: String(index), MessageBody: sentTexts.get(id)! }));
      await sqs.send(new SendMessageBatchCommand({ QueueUrl: queues.requests, Entries: entries }));
    }
    const submittedMs = performance.now() - startedAt;

    // Act 2: the worker drains the queue until every message is gone (deleted, or in the DLQ).
    poller = startSqsPoller({
      sqs,
      queueUrl: queues.requests,
      queueArn: requestsArn,
      functionName: 'asyncWorker',
      timeoutSeconds: 60,
      batchSize: 10,
      reportBatchItemFailures: true,
      concurrency: 4,
      handler: async (event) => {
        const { response, dispositions: done } = await processAsyncBatch(event, worker);
        dispositions.push(...done);
        return response;
      },
    });
    const poison = ids.filter((_, index) => kindOf(index) === 'poison');
    await until(async () => (await depth(queues.requests)) === 0 && (await depth(queues.deadLetters)) === poison.length, 240_000);
    await poller.stop();
    const workedMs = performance.now() - startedAt - submittedMs;

    // Assess 1: every request has exactly one terminal state, settled; the counts add up.
    const requests = await inParallelMap(ids, 32, (id) => jobs.get(id));
    const byStatus = { succeeded: 0, failed: 0, other: 0 };
    requests.forEach((request, index) => {
      expect(request, `job ${index}`).toBeDefined();
      expect(isSettled(request!), `job ${index} settled`).toBe(true);
      const expected = kindOf(index) === 'poison' ? 'failed' : 'succeeded';
      expect(request!.status, `job ${index}`).toBe(expected);
      byStatus[request!.status === 'succeeded' ? 'succeeded' : request!.status === 'failed' ? 'failed' : 'other'] += 1;
    });
    expect(byStatus).toEqual({ succeeded: TOTAL - poison.length, failed: poison.length, other: 0 });
    expect(byStatus.succeeded + byStatus.failed).toBe(TOTAL);
    for (const index of poison.map((id) => ids.indexOf(id))) {
      expect(requests[index]!.outcome?.error?.message).toMatch(/^Gave up after 5 deliveries/);
    }

    // Assess 2: every poison message is in the DLQ, and nothing else is.
    const deadLettered = await drain(queues.deadLetters);
    expect(deadLettered).toHaveLength(poison.length);
    expect(new Set(deadLettered.map(({ body }) => (JSON.parse(body) as { requestId: string }).requestId))).toEqual(new Set(poison));

    // Assess 3: the model answered each request that succeeded exactly once, and no duplicate
    // delivery caused a call: 1 call, 2 after a transient failure, one per delivery for poison
    // (a poison request's second copy, taking turns with the first between retries, may spend up
    // to 4 deliveries of its own before the first one's last delivery fails the request).
    ids.forEach((_, index) => {
      const kind = kindOf(index);
      const made = calls.get(index) ?? 0;
      if (kind === 'ok') expect(made, `calls of job ${index}`).toBe(1);
      if (kind === 'transient') expect(made, `calls of job ${index}`).toBe(2);
      if (kind === 'poison' && !duplicated(index)) expect(made, `calls of job ${index}`).toBe(MAX_RECEIVE_COUNT);
      if (kind === 'poison' && duplicated(index)) expect(made, `calls of job ${index}`).toBeLessThanOrEqual(2 * MAX_RECEIVE_COUNT - 1);
      expect(answered.get(index) ?? 0, `answers of job ${index}`).toBe(kind === 'poison' ? 0 : 1);
    });

    // Assess 4: exactly one audit record and one usage event per request.
    // A usage event rides along with its audit record (as the message attribute the archiver
    // forwards) or, where the record could not be sent, goes to the usage queue on its own.
    const auditMessages = await drain(queues.audit);
    const auditRecords = auditMessages.map(({ body }) => JSON.parse(body) as AuditRecord);
    const usageEvents = [
      ...auditMessages.flatMap(({ attributes }) => (attributes[USAGE_EVENT_ATTRIBUTE] === undefined ? [] : [JSON.parse(attributes[USAGE_EVENT_ATTRIBUTE]) as UsageEvent])),
      ...(await drain(queues.usage)).map(({ body }) => JSON.parse(body) as UsageEvent),
    ];
    expect(countBy(auditRecords.map((record) => record.requestId))).toEqual(countBy(ids));
    expect(countBy(usageEvents.map((event) => event.requestId))).toEqual(countBy(ids));
    expect(auditRecords.every((record) => record.kind === 'async-invocation')).toBe(true);
    expect(dispositions.filter((d) => d.kind === 'duplicate').length).toBeGreaterThanOrEqual(duplicates.length - poison.length);

    console.info(
      `exactly-once: ${TOTAL} submitted in ${(submittedMs / 1000).toFixed(1)} s, worked off in ${(workedMs / 1000).toFixed(1)} s; ` +
        `dispositions ${JSON.stringify(countBy(dispositions.map((d) => d.kind)))}`,
    );
  }, 420_000);

  async function depth(url: string): Promise<number> {
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
    );
    return Number(Attributes?.ApproximateNumberOfMessages ?? 0) + Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
  }

  /** Every message of a queue, received and deleted. */
  async function drain(url: string): Promise<Array<{ body: string; attributes: Record<string, string> }>> {
    const messages: Array<{ body: string; attributes: Record<string, string> }> = [];
    for (;;) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 300, MessageAttributeNames: ['All'] }),
      );
      if (Messages.length === 0 && (await depth(url)) === 0) return messages;
      messages.push(
        ...Messages.map((message) => ({
          body: message.Body ?? '',
          attributes: Object.fromEntries(Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [name, value.StringValue ?? ''])),
        })),
      );
      if (Messages.length > 0) {
        await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: Messages.map((message, i) => ({ Id: String(i), ReceiptHandle: message.ReceiptHandle })) }));
      }
    }
  }
});

async function inParallel(count: number, width: number, work: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < count) await work(next++);
    }),
  );
}

async function inParallelMap<T, R>(items: readonly T[], width: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  await inParallel(items.length, width, async (index) => {
    results[index] = await work(items[index]!);
  });
  return results;
}

function countBy(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

async function until(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('the queue did not drain in time');
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
