import { createHash, generateKeyPairSync, sign, verify } from 'node:crypto';
import type { KMSClient } from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import { createKmsDigestSigner } from '../../lib/adapters/kms-digest-signer';
import { logger } from '../../lib/http/logger';
import { readEventSources } from '../../local/event-sources';
import { SECRET_SHAPED } from '../fixtures/secret-shaped';

describe('the KMS digest signer', () => {
  it('asks KMS to sign the SHA-256 of the message with ECDSA_SHA_256, which verifies as an ECDSA/SHA-256 signature of the message', async () => {
    // Prepare: a stand-in for KMS. KMS's ECDSA_SHA_256 over a DIGEST is ECDSA of that SHA-256;
    // node only signs messages, so the stand-in checks the digest is the message's and signs that.
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const message = new TextEncoder().encode('modelgate-audit-digest/v1\n...');
    const asked: Array<Record<string, unknown>> = [];
    const kms = {
      send: async (command: { input: Record<string, unknown> }) => {
        asked.push(command.input);
        const digestOfMessage = createHash('sha256').update(message).digest();
        return { Signature: Buffer.compare(Buffer.from(command.input.Message as Uint8Array), digestOfMessage) === 0 ? sign('sha256', message, privateKey) : new Uint8Array() };
      },
    } as unknown as KMSClient;
    // Act
    const signature = await createKmsDigestSigner(kms, 'arn:aws:kms:us-east-1:1:key/abc').sign(message);
    // Assess
    expect(asked).toEqual([
      { KeyId: 'arn:aws:kms:us-east-1:1:key/abc', Message: createHash('sha256').update(message).digest(), MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' },
    ]);
    expect(verify('sha256', message, publicKey, signature)).toBe(true);
  });
});


describe('the structured logger', () => {
  it('masks secrets, e-mail, phone and card values in everything it writes, error texts included', () => {
    // Prepare: the shared logger's serialiser, applied to what a handler logs on a failed request.
    const replacer = (logger as unknown as { getJsonReplacer(): (key: string, value: unknown) => unknown }).getJsonReplacer();
    // Act
    const written = JSON.stringify(
      { message: 'Invocation failed', error: new Error(`model said: cannot parse jane@example.com, card 4111 1111 1111 1111, key ${SECRET_SHAPED.awsAccessKeyId}`), userAgent: 'bot Bearer abcdefghijklmnop' },
      replacer,
    );
    // Assess
    expect(written).not.toMatch(/jane@example\.com|4111 1111|abcdefghijklmnop/);
    expect(written).not.toContain(SECRET_SHAPED.awsAccessKeyId);
    expect(written).toContain('[REDACTED:email]');
    expect(written).toContain('Bearer [REDACTED:secret]');
  });

  it('leaves the values it makes itself (time, ids, Lambda context) as they are, and masks free text beside them', () => {
    // Prepare
    const replacer = (logger as unknown as { getJsonReplacer(): (key: string, value: unknown) => unknown }).getJsonReplacer();
    const line = {
      timestamp: '2026-11-22T02:00:00.000Z',
      function_arn: 'arn:aws:lambda:us-east-1:123456789012:function:modelgate-dev-openai',
      requestId: '019aa1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
      // Shaped like an e-mail address on purpose: the scan would mask it, so it shows own members are not scanned.
      servedEntity: 'support@acme.example',
      message: 'Invocation',
      endpoint: 'call jane@example.com',
    };
    // Act
    const written = JSON.parse(JSON.stringify(line, replacer)) as typeof line;
    // Assess
    expect(written).toEqual({ ...line, endpoint: 'call [REDACTED:email]' });
  });
});

describe('the local stack\'s event sources', () => {
  it('reads the archiver\'s queue trigger and the digest\'s schedule from serverless.yml', () => {
    const sources = readEventSources('serverless.yml');
    expect(sources.sqs).toContainEqual({
      functionName: 'auditArchiver',
      handler: 'functions/audit-archiver.handler',
      timeoutSeconds: 60,
      queue: 'AuditQueue',
      batchSize: 1000,
      maximumBatchingWindowSeconds: 10,
      reportBatchItemFailures: true,
      maximumConcurrency: 2,
    });
    expect(sources.schedules).toContainEqual(expect.objectContaining({ functionName: 'auditDigest', handler: 'functions/audit-digest.handler' }));
  });
});
