import { v7 as uuidv7 } from 'uuid';
import { apiKeyRecordFor, type ApiKeyRecord } from '../../../lib/core/api-key';
import type { AsyncWorkerDeps, QueuedMessage } from '../../../lib/core/async/run-async-message';
import { newRequestId } from '../../../lib/http/request-id';
import type { AsyncSubmissionDeps, AsyncSubmissionRequest } from '../../../lib/core/async/serve-async-submission';
import { CircuitBreakers } from '../../../lib/core/circuit-breaker';
import { createEndpointRegistry } from '../../../lib/core/endpoint-registry';
import { FakeKeyStore, ManualClock, RecordingAuditSink, RecordingUsageSink, ScriptedBackend, answering, scriptedRegistry } from '../../fakes/fake-ports';
import { MemoryJobStore, RecordingRequestQueue } from '../../fakes/memory-job-store';
import { MemoryObjectStore } from '../../fakes/memory-object-store';

export const KEY = `mgk_${'a'.repeat(43)}`;
export const OTHER_TENANT_KEY = `mgk_${'b'.repeat(43)}`;
export const SUSPENDED_KEY = `mgk_${'c'.repeat(43)}`;
export const AUDITOR_KEY = `mgk_${'d'.repeat(43)}`;
export const IRIS = { instances: [[5.1, 3.5, 1.4, 0.2]] };

export const endpoints = createEndpointRegistry({
  version: 1,
  endpoints: [
    {
      name: 'iris',
      task: 'custom',
      maxRequestBytes: 10_000,
      routing: { retries: 0 },
      guardrails: { contentFlags: [{ name: 'prompt-injection', pattern: 'ignore (all )?previous instructions' }] },
      servedEntities: [{ name: 'iris-v1', backend: 'sagemaker', endpointName: 'iris' }],
    },
    {
      name: 'private',
      task: 'custom',
      audit: { required: false, redaction: { mask: ['request.instances'] } },
      servedEntities: [{ name: 'private-v1', backend: 'sagemaker', endpointName: 'private' }],
    },
    { name: 'assistant', task: 'chat', servedEntities: [{ name: 'llm', backend: 'openai', model: 'gpt' }] },
  ],
  queueProducers: [
    { tenant: 'acme', endpoints: ['iris', 'private'] },
    { tenant: 'pinned', endpoints: ['*'], senderIds: ['AROAPINNEDROLE1'] },
  ],
});

export function keyRecords(now = new Date('2026-11-21T10:00:00Z')): ApiKeyRecord[] {
  return [
    apiKeyRecordFor(KEY, { tenant: 'acme', roles: ['invoke'], endpoints: ['*'], now }),
    apiKeyRecordFor(OTHER_TENANT_KEY, { tenant: 'globex', roles: ['invoke'], endpoints: ['*'], now }),
    { ...apiKeyRecordFor(SUSPENDED_KEY, { tenant: 'acme', roles: ['invoke'], endpoints: ['*'], now }), status: 'suspended' },
    apiKeyRecordFor(AUDITOR_KEY, { tenant: 'acme', roles: ['auditor'], endpoints: [], now }),
  ];
}

/** Everything the submission API and the worker share, in memory, wired both ways. */
export function asyncWorld() {
  const clock = new ManualClock();
  const keys = new FakeKeyStore(keyRecords());
  const jobs = new MemoryJobStore();
  const queue = new RecordingRequestQueue();
  const objects = new MemoryObjectStore();
  // As the async bucket's policy (DenyRequestBodyOverwrites): a stored request body is written once.
  objects.createOnlyPrefixes = ['requests/'];
  const usage = new RecordingUsageSink();
  const audit = new RecordingAuditSink(usage);
  const backend = new ScriptedBackend(answering({ predictions: ['setosa'] }));
  const submission: AsyncSubmissionDeps = {
    endpoints, keys, jobs, queue, objects, audit, usage, clock,
    settings: { idempotencyWindowSeconds: 3_600, retentionDays: 7 },
    newRequestId,
  };
  const worker: AsyncWorkerDeps = {
    endpoints, keys, jobs, queue, objects, audit, usage, clock,
    backends: scriptedRegistry(backend),
    breakers: new CircuitBreakers(),
    sleep: async () => undefined,
    random: () => 0.5,
    retry: { maxReceiveCount: 5, baseDelaySeconds: 10, maxDelaySeconds: 300 },
    leaseMs: 120_000,
    retentionDays: 7,
  };
  return { clock, keys, jobs, queue, objects, audit, usage, backend, submission, worker };
}

/** A submission of `body` to `endpoint` with `key`, as the HTTP edge would hand it over. */
export function submissionOf(world: ReturnType<typeof asyncWorld>, body: unknown, options: Partial<AsyncSubmissionRequest> = {}): AsyncSubmissionRequest {
  return {
    requestId: uuidv7({ msecs: world.clock.now().getTime() }),
    receivedAt: world.clock.now(),
    startedAt: world.clock.monotonic(),
    endpointName: 'iris',
    authorization: `Bearer ${KEY}`,
    contentType: 'application/json',
    body: new TextEncoder().encode(typeof body === 'string' ? body : JSON.stringify(body)),
    clientIp: '203.0.113.7',
    userAgent: 'pipeline/2.0',
    idempotencyKey: undefined,
    apiBaseUrl: 'https://api.example.com/prod',
    ...options,
  };
}

let messageCounter = 0;

/** A delivery of a message text, as the event source hands it over. */
export function delivery(text: string, options: Partial<QueuedMessage> = {}): QueuedMessage {
  messageCounter += 1;
  return { messageId: `m-${messageCounter}`, receiptHandle: `r-${messageCounter}`, body: text, receiveCount: 1, senderId: 'AIDAEXAMPLEUSER1', ...options };
}

/** The same message delivered again: same id, a new receipt, one more receive. */
export function redelivery(previous: QueuedMessage): QueuedMessage {
  messageCounter += 1;
  return { ...previous, receiptHandle: `r-${messageCounter}`, receiveCount: previous.receiveCount + 1 };
}
