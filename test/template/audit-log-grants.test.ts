import { generateKeyPairSync } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, inject, it } from 'vitest';
import { createKeyObjectDigestSigner } from '../../lib/adapters/key-file-digest-signer';
import { createAuditArchiveWriter } from '../../lib/core/audit-log/archive-writer';
import { batchObjectKey, parseBatchObjectKey } from '../../lib/core/audit-log/layout';
import { writeAuditDigest } from '../../lib/core/audit-log/digest';
import { findAuditRecord, searchAuditLog } from '../../lib/core/audit-log/search';
import { verifyAuditLog } from '../../lib/core/audit-log/verify';
import type { ObjectStore } from '../../lib/ports/object-store';
import { MemoryObjectStore } from '../fakes/memory-object-store';
import { archivableFixtures } from '../fixtures/audit-records';
import { asArray, copyOf, readPackagedTemplate, type CfnTemplate, type PolicyStatement } from './cloudformation-template';
import { allPolicyStatements } from './iam-checks';

// The emulators enforce no IAM, so a role that cannot read what its code reads passes every other
// test and fails only in AWS. Here the audit log's own code runs against a bucket that grants each
// role's audit-bucket statements from the packaged template, and nothing else.
const template = readPackagedTemplate(inject('packageDir'));

interface BucketGrants {
  get: string[];
  put: string[];
  listPrefixes: string[];
}

/** Object patterns (`audit/v1/*`) the statements of a role or managed policy allow on the audit bucket. */
function auditBucketGrants(t: CfnTemplate, holderId: string): BucketGrants {
  const statements = allPolicyStatements(t)
    .filter(({ where }) => where.startsWith(`${holderId}.`) || where.startsWith(`${holderId}[`))
    .map(({ statement }) => statement)
    .filter((statement) => statement.Effect === 'Allow');
  const allows = (statement: PolicyStatement, action: string) => asArray(statement.Action).includes(action);
  const objectPatterns = (action: string) =>
    statements
      .filter((statement) => allows(statement, action))
      .flatMap((statement) => asArray(statement.Resource))
      .map((resource) => (resource as { 'Fn::Sub'?: unknown })?.['Fn::Sub'])
      .filter((sub): sub is string => typeof sub === 'string' && sub.startsWith('${AuditBucket.Arn}/'))
      .map((sub) => sub.slice('${AuditBucket.Arn}/'.length));
  const listPrefixes = statements
    .filter((statement) => allows(statement, 's3:ListBucket') && JSON.stringify(statement.Resource).includes('AuditBucket'))
    .flatMap((statement) => asArray(statement.Condition?.StringLike?.['s3:prefix']) as string[]);
  return { get: objectPatterns('s3:GetObject'), put: objectPatterns('s3:PutObject'), listPrefixes };
}

function matches(pattern: string, value: string): boolean {
  return new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`).test(value);
}

class AccessDenied extends Error {}

/** The bucket as a holder of these grants sees it: what they do not allow is denied, as S3 would. */
function asGranted(store: ObjectStore, holderId: string, t: CfnTemplate = template): ObjectStore {
  const grants = auditBucketGrants(t, holderId);
  const deny = (what: string) => new AccessDenied(`${holderId} may not ${what}`);
  return {
    put: (key, body, options) => (grants.put.some((p) => matches(p, key)) ? store.put(key, body, options) : Promise.reject(deny(`s3:PutObject ${key}`))),
    async get(key) {
      if (!grants.get.some((p) => matches(p, key))) throw deny(`s3:GetObject ${key}`);
      const bytes = await store.get(key);
      // S3 answers a missing key with 404 only to a caller that may list where it would be; to others, 403.
      if (bytes === undefined && !grants.listPrefixes.some((p) => matches(p, key))) throw deny(`s3:ListBucket, so S3 answers 403 for the missing ${key}`);
      return bytes;
    },
    list(prefix, options) {
      if (!grants.listPrefixes.some((p) => matches(p, prefix))) throw deny(`s3:ListBucket ${prefix}`);
      return store.list(prefix, options);
    },
  };
}

const START = new Date('2026-11-21T09:00:00Z');
const records = archivableFixtures(20, START, 1000);
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signer = createKeyObjectDigestSigner(privateKey);

/** A log as the archiver and the digest function write it, each with its own role's grants. */
async function writtenLog(): Promise<MemoryObjectStore> {
  const bucket = new MemoryObjectStore();
  await createAuditArchiveWriter(asGranted(bucket, 'AuditArchiverFunctionRole')).append(records);
  await writeAuditDigest(asGranted(bucket, 'AuditDigestFunctionRole'), signer, new Date('2026-11-21T10:05:00Z'));
  return bucket;
}

const requestIdOf = (index: number) => (JSON.parse(records[index]!.line) as { requestId: string }).requestId;
const DAY = { from: new Date('2026-11-21T00:00:00Z'), to: new Date('2026-11-22T00:00:00Z') };

describe('the audit log with each role\'s grants from the packaged template', () => {
  it('lets the archiver and the digest function write it', async () => {
    const bucket = await writtenLog();
    const listed: string[] = [];
    for await (const object of bucket.list('audit/')) listed.push(object.key);
    expect(listed.some((key) => key.startsWith('audit/v1/'))).toBe(true);
    expect(listed.some((key) => key.startsWith('audit/chain/'))).toBe(true);
    expect(listed.some((key) => key.startsWith('audit/digest/'))).toBe(true);
  });

  it('lets the audit API find a record and search the log (it reads chain entries to skip unchained objects)', async () => {
    const reader = asGranted(await writtenLog(), 'AuditRecordsFunctionRole');
    expect((await findAuditRecord(reader, requestIdOf(3)))?.record.requestId).toBe(requestIdOf(3));
    const found = await searchAuditLog(reader, { ...DAY, limit: 100 });
    expect(found.records.map((record) => record.requestId)).toContain(requestIdOf(7));
  });

  it('lets the audit API pass over a batch object whose chain entry does not exist (a 404 needs s3:ListBucket on the chain)', async () => {
    // Prepare: an object slipped in under a sequence number the chain has not reached.
    const bucket = await writtenLog();
    const real = await findAuditRecord(bucket, requestIdOf(3));
    const name = parseBatchObjectKey(real!.objectKey)!;
    const forged = batchObjectKey({ ...name, seq: name.seq + 1_000, recordsHashPrefix: '0'.repeat(16) });
    await bucket.put(forged, gzipSync(`${JSON.stringify({ ...real!.record, tenant: 'someone-else' })}\n`));
    const reader = asGranted(bucket, 'AuditRecordsFunctionRole');
    // Act
    const shown = await findAuditRecord(reader, requestIdOf(3));
    const page = await searchAuditLog(reader, { ...DAY, limit: 100 });
    // Assess
    expect(shown?.record.tenant).toBe(real!.record.tenant);
    expect(page.records.filter((record) => record.requestId === requestIdOf(3))).toEqual([real!.record]);
  });

  it('lets an auditor (AuditorPolicy) verify the log', async () => {
    const auditor = asGranted(await writtenLog(), 'AuditorPolicy');
    const report = await verifyAuditLog(auditor, { from: START, to: new Date('2026-11-21T10:00:00Z'), publicKey, keyId: signer.keyId, now: new Date('2026-11-21T10:10:00Z') });
    expect(report.records.checked).toBe(records.length);
  });

  it('catches a reader role that cannot read chain entries', async () => {
    const weakened = copyOf(template);
    for (const { statement } of allPolicyStatements(weakened).filter(({ where }) => where.startsWith('AuditRecordsFunctionRole.'))) {
      if (asArray(statement.Action).includes('s3:GetObject')) {
        statement.Resource = asArray(statement.Resource).filter((resource) => !JSON.stringify(resource).includes('/audit/chain/'));
      }
    }
    const reader = asGranted(await writtenLog(), 'AuditRecordsFunctionRole', weakened);
    await expect(findAuditRecord(reader, requestIdOf(3))).rejects.toThrow(/s3:GetObject audit\/chain\//);
  });
});
