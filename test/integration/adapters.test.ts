import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { auditObjectKey, createS3AuditSink } from '../../lib/adapters/s3-audit-sink';
import { createS3KeyStore } from '../../lib/adapters/s3-key-store';
import { apiKeyRecordFor } from '../../lib/core/api-key';
import { buildAuditRecord } from '../../lib/core/audit-record';

const stack = inject('stack');

/** An S3 client against the emulator that remembers the headers of every request it sent. */
function recordingS3Client(): { s3: S3Client; sent: Array<{ method: string; path: string; headers: Record<string, string> }> } {
  const s3 = new S3Client({
    region: 'us-east-1',
    endpoint: stack.emulatorUrl,
    forcePathStyle: true,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
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

function auditRecord(requestId: string) {
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
    requestBody: new TextEncoder().encode('{"instances":[[1,2,3,4]]}'),
    responseBody: new TextEncoder().encode('{"predictions":["setosa"]}'),
  });
}

describe('S3 audit sink', () => {
  it('puts each record under its date and hour partition, encrypted with SSE-KMS and a bucket key', async () => {
    // Prepare
    const { s3, sent } = recordingS3Client();
    const sink = createS3AuditSink(s3, { bucket: stack.auditBucket, kmsKeyId: 'alias/modelgate-test' });
    const record = auditRecord('01a1ffdf-0000-7000-8000-000000000001');
    // Act
    await sink.record(record);
    // Assess
    const put = sent.find((request) => request.method === 'PUT');
    expect(put?.path).toBe(`/${stack.auditBucket}/audit/v1/dt=2026-11-21/hour=09/${record.requestId}.json`);
    expect(put?.headers).toMatchObject({
      'x-amz-server-side-encryption': 'aws:kms',
      'x-amz-server-side-encryption-aws-kms-key-id': 'alias/modelgate-test',
      'x-amz-server-side-encryption-bucket-key-enabled': 'true',
      'if-none-match': '*',
    });
    const stored = await s3.send(new GetObjectCommand({ Bucket: stack.auditBucket, Key: auditObjectKey(record) }));
    expect(JSON.parse(await stored.Body!.transformToString())).toEqual(record);
  });
});

describe('S3 key store', () => {
  it('finds a key by hash, trusts it for the cache TTL, then reads it again (bounding revocation delay)', async () => {
    // Prepare
    const { s3, sent } = recordingS3Client();
    let now = 1_000_000;
    const store = createS3KeyStore(s3, { bucket: stack.keysBucket, cacheTtlMs: 60_000, now: () => now });
    const record = apiKeyRecordFor(`mgk_${'k'.repeat(43)}`, { tenant: 'acme', roles: ['invoke'], endpoints: ['*'], now: new Date() });
    await store.save(record);
    const gets = () => sent.filter((request) => request.method === 'GET').length;
    // Act
    const first = await store.findByHash(record.keyHash);
    const cached = await store.findByHash(record.keyHash);
    await createS3KeyStore(s3, { bucket: stack.keysBucket }).save({ ...record, status: 'revoked' });
    now += 60_001;
    const afterTtl = await store.findByHash(record.keyHash);
    // Assess
    expect(first?.status).toBe('active');
    expect(cached?.status).toBe('active');
    expect(afterTtl?.status).toBe('revoked');
    expect(gets()).toBe(2);
  });

  it('stores only the hash and grants, never the key', async () => {
    // Prepare
    const { s3 } = recordingS3Client();
    const apiKey = `mgk_${'s'.repeat(43)}`;
    const record = apiKeyRecordFor(apiKey, { tenant: 'acme', roles: ['invoke'], endpoints: ['iris'], now: new Date() });
    // Act
    await createS3KeyStore(s3, { bucket: stack.keysBucket }).save(record);
    // Assess
    const stored = await s3.send(new GetObjectCommand({ Bucket: stack.keysBucket, Key: `keys/v1/${record.keyHash}.json` }));
    const text = await stored.Body!.transformToString();
    expect(text).not.toContain(apiKey);
    expect(JSON.parse(text)).toMatchObject({ keyHash: record.keyHash, tenant: 'acme', endpoints: ['iris'] });
  });

  it('answers undefined for a hash it does not hold', async () => {
    const { s3 } = recordingS3Client();
    const store = createS3KeyStore(s3, { bucket: stack.keysBucket });
    expect(await store.findByHash('0'.repeat(64))).toBeUndefined();
  });
});
