import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createS3ObjectStore } from '../../lib/adapters/s3-object-store';
import { createSqsAuditSink } from '../../lib/adapters/sqs-audit-sink';
import { createSqsUsageSink } from '../../lib/adapters/sqs-usage-sink';
import { buildAuditRecord } from '../../lib/core/audit-record';
import { usageEventFor } from '../../lib/core/usage-event';
import { sha256Hex } from '../../lib/core/audit-log/sha256';

const stack = inject('stack');
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

/** An S3 client against the emulator that remembers the headers of every request it sent. */
function recordingS3Client(): { s3: S3Client; sent: Array<{ method: string; path: string; headers: Record<string, string> }> } {
  const s3 = new S3Client({ region: 'us-east-1', endpoint: stack.emulatorUrl, forcePathStyle: true, credentials });
  const sent: Array<{ method: string; path: string; headers: Record<string, string> }> = [];
  s3.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { method: string; path: string; headers: Record<string, string> };
      sent.push({ method: request.method, path: decodeURIComponent(request.path), headers: { ...request.headers } });
      return next(args);
    },
    { step: 'finalizeRequest', name: 'recordRequests' },
  );
  return { s3, sent };
}

function auditRecord(requestId: string, requestBody = '{"instances":[[1,2,3,4]]}') {
  return buildAuditRecord({
    requestId,
    receivedAt: new Date('2026-11-21T09:59:59.000Z'),
    endpointName: 'iris',
    principal: { keyId: 'key_1', tenant: 'acme', roles: ['invoke'], endpoints: ['*'] },
    servedEntity: 'iris-v1',
    status: 200,
    error: undefined,
    latencyMs: 12.3456,
    backendLatencyMs: 10,
    clientIp: '127.0.0.1',
    userAgent: 'test',
    requestBody: new TextEncoder().encode(requestBody),
    responseBody: new TextEncoder().encode('{"predictions":["setosa"]}'),
  });
}

describe('S3 object store', () => {
  it('encrypts every put with SSE-KMS and a bucket key, and sends If-None-Match for create-only puts', async () => {
    // Prepare
    const { s3, sent } = recordingS3Client();
    const store = createS3ObjectStore(s3, { bucket: stack.auditBucket, kmsKeyId: 'alias/modelgate-test' });
    // Act
    await store.put('audit/test/object-store/a.json', new TextEncoder().encode('{"a":1}'), { ifNoneMatch: true, contentType: 'application/json', metadata: { 'chain-seq': '7' } });
    // Assess
    const put = sent.find((request) => request.method === 'PUT');
    expect(put?.path).toBe(`/${stack.auditBucket}/audit/test/object-store/a.json`);
    expect(put?.headers).toMatchObject({
      'x-amz-server-side-encryption': 'aws:kms',
      'x-amz-server-side-encryption-aws-kms-key-id': 'alias/modelgate-test',
      'x-amz-server-side-encryption-bucket-key-enabled': 'true',
      'if-none-match': '*',
      'x-amz-meta-chain-seq': '7',
    });
    expect(new TextDecoder().decode(await store.get('audit/test/object-store/a.json'))).toBe('{"a":1}');
  });

  it('answers undefined for a missing key and lists keys in order after a given one', async () => {
    const { s3 } = recordingS3Client();
    const store = createS3ObjectStore(s3, { bucket: stack.auditBucket });
    for (const name of ['c', 'a', 'b']) await store.put(`audit/test/list/${name}`, new Uint8Array([1]));
    const listed: string[] = [];
    for await (const object of store.list('audit/test/list/', { startAfter: 'audit/test/list/a' })) listed.push(object.key);
    expect(listed).toEqual(['audit/test/list/b', 'audit/test/list/c']);
    expect(await store.get('audit/test/list/none')).toBeUndefined();
  });
});

describe('SQS audit sink', () => {
  const sqs = new SQSClient({ region: 'us-east-1', endpoint: stack.emulatorUrl, credentials });
  // A queue of its own: the stack's archiver drains the real audit queue.
  const queue = async (name: string) => (await sqs.send(new CreateQueueCommand({ QueueName: name }))).QueueUrl!;
  const receive = async (queueUrl: string) =>
    (await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: ['All'] }))).Messages ?? [];

  it('hands a record off as one message, tagged with its request id', async () => {
    // Prepare
    const queueUrl = await queue('adapter-test-audit-small');
    const { s3, sent } = recordingS3Client();
    const sink = createSqsAuditSink(sqs, { queueUrl, bodies: createS3ObjectStore(s3, { bucket: stack.auditBucket }) });
    const record = auditRecord('01a1ffdf-0000-7000-8000-000000000001');
    // Act
    await sink.record(record);
    // Assess
    const [message] = await receive(queueUrl);
    expect(JSON.parse(message!.Body!)).toEqual(record);
    expect(message!.MessageAttributes?.requestId?.StringValue).toBe(record.requestId);
    expect(sent).toHaveLength(0);
  });

  it('stores bodies too large for a message by their hash (create-only, SSE-KMS) and sends the record with the reference', async () => {
    // Prepare
    const queueUrl = await queue('adapter-test-audit-large');
    const { s3, sent } = recordingS3Client();
    const sink = createSqsAuditSink(sqs, { queueUrl, bodies: createS3ObjectStore(s3, { bucket: stack.auditBucket, kmsKeyId: 'alias/k' }) });
    const large = JSON.stringify({ inputs: ['x'.repeat(300_000)] });
    // Act
    await sink.record(auditRecord('01a1ffdf-0000-7000-8000-000000000002', large));
    // Assess
    const [message] = await receive(queueUrl);
    expect(Buffer.byteLength(message!.Body!)).toBeLessThan(200_000);
    const sent1 = JSON.parse(message!.Body!);
    const sha = sha256Hex(large);
    expect(sent1.request).toEqual({ bytes: large.length, ref: { sha256: sha, bytes: large.length, s3Key: `audit/bodies/v1/${sha}.json` } });
    expect(sent1.response.body).toEqual({ predictions: ['setosa'] });
    expect(sent[0]?.headers).toMatchObject({ 'x-amz-server-side-encryption': 'aws:kms', 'if-none-match': '*' });
    const stored = await s3.send(new GetObjectCommand({ Bucket: stack.auditBucket, Key: `audit/bodies/v1/${sha}.json` }));
    expect(await stored.Body!.transformToString()).toBe(large);
  });

  it('sends characters SQS refuses raw (U+FFFF) as JSON escapes, so no request becomes unauditable', async () => {
    const queueUrl = await queue('adapter-test-audit-unicode');
    const sink = createSqsAuditSink(sqs, { queueUrl, bodies: createS3ObjectStore(recordingS3Client().s3, { bucket: stack.auditBucket }) });
    const record = auditRecord('01a1ffdf-0000-7000-8000-000000000003', JSON.stringify({ inputs: ['odd \uffff\ufffe char'] }));
    await sink.record(record);
    const [message] = await receive(queueUrl);
    expect(JSON.parse(message!.Body!)).toEqual(record);
  });

  it('carries the usage event as a message attribute, leaving the record text exactly what is archived', async () => {
    // Prepare
    const queueUrl = await queue('adapter-test-audit-with-usage');
    const sink = createSqsAuditSink(sqs, { queueUrl, bodies: createS3ObjectStore(recordingS3Client().s3, { bucket: stack.auditBucket }) });
    const record = auditRecord('01a1ffdf-0000-7000-8000-000000000004');
    const usage = usageEventFor(record, { units: { kind: 'rows', input: 1 }, requestBytes: 25, responseBytes: 26 });
    // Act
    await sink.record(record, usage);
    // Assess
    const [message] = await receive(queueUrl);
    expect(JSON.parse(message!.Body!)).toEqual(record);
    expect(JSON.parse(message!.MessageAttributes?.usageEvent?.StringValue ?? 'null')).toEqual(usage);
  });

  it('keeps a record with its usage event under the message limit, storing bodies by reference to make room', async () => {
    const queueUrl = await queue('adapter-test-audit-usage-room');
    const sink = createSqsAuditSink(sqs, { queueUrl, bodies: createS3ObjectStore(recordingS3Client().s3, { bucket: stack.auditBucket }), maxMessageBytes: 4_000 });
    const record = auditRecord('01a1ffdf-0000-7000-8000-000000000005', JSON.stringify({ inputs: ['y'.repeat(3_500)] }));
    const usage = usageEventFor(record, { units: { kind: 'rows', input: 1 }, requestBytes: 3_520, responseBytes: 26 });
    await sink.record(record, usage);
    const [message] = await receive(queueUrl);
    const attribute = message!.MessageAttributes?.usageEvent?.StringValue ?? '';
    expect(JSON.parse(attribute)).toEqual(usage);
    expect(Buffer.byteLength(message!.Body!) + Buffer.byteLength(attribute)).toBeLessThan(4_000);
    expect(JSON.parse(message!.Body!).request.ref).toBeDefined();
  });
});

describe('SQS usage sink', () => {
  const sqs = new SQSClient({ region: 'us-east-1', endpoint: stack.emulatorUrl, credentials });

  it('sends many events in batches of ten, each one message tagged with its request id', async () => {
    // Prepare: a queue of its own (the stack's aggregator drains the real usage queue).
    const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'adapter-test-usage-batches' }))).QueueUrl!;
    const sink = createSqsUsageSink(sqs, queueUrl);
    const calls: Array<{ command: string; entries: number }> = [];
    sqs.middlewareStack.add(
      (next, context) => async (args) => {
        calls.push({ command: context.commandName ?? '', entries: (args.input as { Entries?: unknown[] }).Entries?.length ?? 1 });
        return next(args);
      },
      { step: 'initialize', name: 'recordUsageSinkCalls' },
    );
    const events = Array.from({ length: 23 }, (_, i) =>
      usageEventFor(auditRecord(`01a1ffdf-0000-7000-8000-0000000001${String(i).padStart(2, '0')}`), { units: { kind: 'rows', input: i }, requestBytes: 1, responseBytes: 1 }),
    );
    // Act
    await sink.publishAll(events);
    // Assess
    const received: Array<{ body: unknown; requestId: string | undefined }> = [];
    for (let tries = 0; tries < 10 && received.length < events.length; tries += 1) {
      const batch = (await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: ['All'] }))).Messages ?? [];
      received.push(...batch.map((message) => ({ body: JSON.parse(message.Body!), requestId: message.MessageAttributes?.requestId?.StringValue })));
    }
    // Handed over together: ten to a SendMessageBatch.
    expect(calls.filter((call) => call.command.startsWith('SendMessage'))).toEqual([
      { command: 'SendMessageBatchCommand', entries: 10 },
      { command: 'SendMessageBatchCommand', entries: 10 },
      { command: 'SendMessageBatchCommand', entries: 3 },
    ]);
    expect(received).toHaveLength(23);
    expect(received.map((message) => message.requestId).sort()).toEqual(events.map((event) => event.requestId).sort());
    expect(received.map((message) => message.body)).toEqual(expect.arrayContaining(events));
  });

  it('sends a usage event holding characters SQS refuses raw (U+FFFF, in a caller-chosen endpoint name) as JSON escapes', async () => {
    // Prepare
    const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'adapter-test-usage-unicode' }))).QueueUrl!;
    const sink = createSqsUsageSink(sqs, queueUrl);
    const record = { ...auditRecord('01a1ffdf-0000-7000-8000-000000000200'), endpoint: 'odd \uffff name' };
    const event = usageEventFor(record, { units: undefined, requestBytes: 1, responseBytes: 1 });
    // Act
    await sink.publish(event);
    // Assess
    const [message] = (await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1 }))).Messages ?? [];
    expect(JSON.parse(message!.Body!)).toEqual(event);
  });
});
