import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoDbKeyStore } from '../../../lib/adapters/dynamodb-key-store';
import { apiKeyRecordFor, hashApiKey } from '../../../lib/core/api-key';
import { startGovernanceDynamoDb, type GovernanceDynamoDb } from '../../fixtures/governance-dynamodb';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const KEY = `mgk_${'k'.repeat(43)}`;

let dynamodb: GovernanceDynamoDb;
let documents: DynamoDBDocumentClient;
let tableName: string;
beforeAll(async () => {
  dynamodb = await startGovernanceDynamoDb();
  documents = dynamodb.documents;
  tableName = dynamodb.tables.KeysTable;
});
afterAll(() => dynamodb.stop());

describe('DynamoDB key store (dynalite, through the real SDK client)', () => {
  it('reads a key once for requests side by side, and again once its cache entry has run out', async () => {
    // Prepare: a store whose GetItem calls are counted.
    let now = 1_000_000;
    let reads = 0;
    const counted = { send: (command: unknown) => ((reads += command instanceof GetCommand ? 1 : 0), documents.send(command as GetCommand)) } as unknown as DynamoDBDocumentClient;
    const store = createDynamoDbKeyStore(counted, { tableName, cacheTtlMs: 30_000, now: () => now });
    await store.create(apiKeyRecordFor(KEY, { tenant: 'acme', roles: ['invoke'], endpoints: ['*'], now: new Date(now) }));
    // Act
    const together = await Promise.all(Array.from({ length: 16 }, () => store.findByHash(hashApiKey(KEY))));
    const readsTogether = reads;
    now += 30_001;
    const later = await Promise.all(Array.from({ length: 4 }, () => store.findByHash(hashApiKey(KEY))));
    // Assess
    expect(together.every((record) => record?.tenant === 'acme')).toBe(true);
    expect(later.every((record) => record?.tenant === 'acme')).toBe(true);
    expect(readsTogether).toBe(1);
    expect(reads).toBe(2);
  });

  it('reads again after a failed read: a failure is not shared with the requests that come after it', async () => {
    // Prepare
    let fail = true;
    const flaky = {
      send: (command: GetCommand) => (fail ? Promise.reject(Object.assign(new Error('throttled'), { name: 'ThrottlingException' })) : documents.send(command)),
    } as unknown as DynamoDBDocumentClient;
    const key = `mgk_${'f'.repeat(43)}`;
    await createDynamoDbKeyStore(documents, { tableName }).create(apiKeyRecordFor(key, { tenant: 'globex', roles: ['invoke'], endpoints: ['*'], now: new Date() }));
    const store = createDynamoDbKeyStore(flaky, { tableName });
    // Act
    const failed = await Promise.allSettled([store.findByHash(hashApiKey(key)), store.findByHash(hashApiKey(key))]);
    fail = false;
    const retried = await store.findByHash(hashApiKey(key));
    // Assess
    expect(failed.map((result) => result.status)).toEqual(['rejected', 'rejected']);
    expect(retried?.tenant).toBe('globex');
  });
});
