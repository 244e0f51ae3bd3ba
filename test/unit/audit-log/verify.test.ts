import { generateKeyPairSync } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createKeyObjectDigestSigner } from '../../../lib/adapters/key-file-digest-signer';
import { createAuditArchiveWriter } from '../../../lib/core/audit-log/archive-writer';
import { readDigest, writeAuditDigest } from '../../../lib/core/audit-log/digest';
import { AUDIT_DIGEST_PREFIX, AUDIT_RECORDS_PREFIX, chainEntryKey } from '../../../lib/core/audit-log/layout';
import { verifyAuditLog } from '../../../lib/core/audit-log/verify';
import { MemoryObjectStore } from '../../fakes/memory-object-store';
import { archivableFixtures, auditRecordFixture } from '../../fixtures/audit-records';

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signer = createKeyObjectDigestSigner(privateKey);
const DAY = { from: new Date('2026-11-21T00:00:00Z'), to: new Date('2026-11-22T00:00:00Z') };
const NOW = new Date('2026-11-21T18:30:00Z');

function lines(store: MemoryObjectStore, key: string): string[] {
  return gunzipSync(store.objects.get(key)!.body).toString('utf8').trimEnd().split('\n');
}

function rewrite(store: MemoryObjectStore, key: string, edit: (lines: string[]) => string[]): void {
  store.tamper(key, gzipSync(`${edit(lines(store, key)).join('\n')}\n`));
}

describe('verifyAuditLog', () => {
  const pristine = new MemoryObjectStore();
  let store: MemoryObjectStore;
  let dataKeys: string[];

  // 10,000 records of one day in 10 batch objects, with hourly signed digests; each test gets a copy.
  beforeAll(async () => {
    const writer = createAuditArchiveWriter(pristine, { now: () => NOW });
    for (let hour = 0; hour < 10; hour += 1) {
      await writer.append(archivableFixtures(1_000, new Date(Date.UTC(2026, 10, 21, 8 + hour, 0, 1)), 3_000, hour * 1_000));
      await writeAuditDigest(pristine, signer, new Date(Date.UTC(2026, 10, 21, 8 + hour, 59, 0)));
    }
  });

  beforeEach(() => {
    store = new MemoryObjectStore();
    for (const [key, object] of pristine.objects) store.objects.set(key, object);
    dataKeys = store.keys(AUDIT_RECORDS_PREFIX);
  });

  const verify = () => verifyAuditLog(store, { ...DAY, publicKey, keyId: signer.keyId, now: NOW });

  it('an untouched log verifies clean: every digest signed, every batch and record checked', async () => {
    const report = await verify();
    expect(report).toMatchObject({
      ok: true,
      digests: { checked: 10, validSignatures: 10, lastSignedSeq: 10 },
      batches: { checked: 10, signed: 10, unsigned: 0 },
      records: { checked: 10_000 },
      findings: [],
      firstProblem: null,
    });
  });

  it('names the exact object and line of an altered, a removed and an inserted record, the first one first', async () => {
    // Prepare: change record 17 of the 3rd object, remove record 500 of the 6th, insert one as line 3 of the 9th.
    let altered = '';
    rewrite(store, dataKeys[2]!, (all) => all.map((line, i) => (i === 16 ? ((altered = JSON.parse(line).requestId), line.replace(/"latencyMs":[\d.]+/, '"latencyMs":0.5')) : line)));
    let removed = '';
    rewrite(store, dataKeys[5]!, (all) => all.filter((line, i) => (i === 499 ? ((removed = JSON.parse(line).requestId), false) : true)));
    const forged = auditRecordFixture(77_777, new Date('2026-11-21T16:30:00Z'));
    rewrite(store, dataKeys[8]!, (all) => [...all.slice(0, 2), JSON.stringify(forged), ...all.slice(2)]);
    // Act
    const report = await verify();
    // Assess
    expect(report.ok).toBe(false);
    expect(report.findings.map(({ kind, objectKey, line, requestId }) => ({ kind, objectKey, line, requestId }))).toEqual([
      { kind: 'record-altered', objectKey: dataKeys[2], line: 17, requestId: altered },
      { kind: 'record-missing', objectKey: dataKeys[5], line: 500, requestId: removed },
      { kind: 'record-inserted', objectKey: dataKeys[8], line: 3, requestId: forged.requestId },
    ]);
    expect(report.firstProblem).toMatchObject({ kind: 'record-altered', objectKey: dataKeys[2], line: 17 });
    expect(report.firstProblem!.message).toContain('line 17');
  });

  it('reports a batch object that was deleted, and one that was slipped in', async () => {
    // Prepare
    store.tamper(dataKeys[4]!, undefined);
    const forgedKey = dataKeys[6]!.replace(/_(\d{12})_/, '_000000000999_');
    store.tamper(forgedKey, gzipSync(`${JSON.stringify(auditRecordFixture(5, new Date('2026-11-21T14:10:00Z')))}\n`));
    // Act
    const report = await verify();
    // Assess
    expect(report.findings.map(({ kind, objectKey, line }) => ({ kind, objectKey, line }))).toEqual([
      { kind: 'object-missing', objectKey: dataKeys[4], line: undefined },
      { kind: 'object-unchained', objectKey: forgedKey, line: 1 },
    ]);
  });

  it('sees through a rewritten chain entry: the digest signed the original', async () => {
    // Prepare: alter a record and recompute its hash in the chain entry, as a careful attacker would.
    const entryKey = chainEntryKey(4);
    const entry = JSON.parse(new TextDecoder().decode(store.objects.get(entryKey)!.body));
    entry.recordCount = 999;
    store.tamper(entryKey, new TextEncoder().encode(JSON.stringify(entry)));
    // Act
    const report = await verify();
    // Assess
    expect(report.firstProblem).toMatchObject({ kind: 'entry-altered', objectKey: entryKey, seq: 4 });
  });

  it('rejects a digest that was re-signed with another key, and one removed from the sequence', async () => {
    // Prepare
    const digests = store.keys(AUDIT_DIGEST_PREFIX);
    const other = createKeyObjectDigestSigner(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
    const forged = (await readDigest(store, digests[7]!))!;
    const signature = Buffer.from(await other.sign(new TextEncoder().encode(forged.payloadLine))).toString('base64');
    store.tamper(digests[7]!, new TextEncoder().encode(`${forged.payloadLine}\n${JSON.stringify({ ...forged.signature, signature })}\n`));
    store.tamper(digests[3]!, undefined);
    // Act
    const report = await verify();
    // Assess
    const digestFindings = report.findings.filter((finding) => finding.kind.startsWith('digest-'));
    expect(digestFindings.map(({ kind, objectKey }) => ({ kind, objectKey }))).toEqual([
      { kind: 'digest-missing', objectKey: digests[3] },
      { kind: 'digest-signature-invalid', objectKey: digests[7] },
      // The next digest no longer follows the altered one.
      { kind: 'digest-chain-broken', objectKey: digests[8] },
    ]);
  });

  it("notices the period's start cut off, its first digests, chain entries and batches removed together", async () => {
    // Prepare: the first four hours go, everything about them; the first digest left links to a removed one.
    const digests = store.keys(AUDIT_DIGEST_PREFIX);
    for (const key of digests.slice(0, 4)) store.tamper(key, undefined);
    for (const seq of [1, 2, 3, 4]) store.tamper(chainEntryKey(seq), undefined);
    for (const key of dataKeys.slice(0, 4)) store.tamper(key, undefined);
    // Act
    const report = await verify();
    // Assess
    expect(report.ok).toBe(false);
    expect(report.findings).toContainEqual(expect.objectContaining({ kind: 'digest-missing', objectKey: digests[3] }));
  });

  it("notices the log's end cut off, its newest digests, chain entries and batches removed together", async () => {
    // Prepare: the last three hours go, everything about them.
    const digests = store.keys(AUDIT_DIGEST_PREFIX);
    for (const key of digests.slice(7)) store.tamper(key, undefined);
    for (const seq of [8, 9, 10]) store.tamper(chainEntryKey(seq), undefined);
    for (const key of dataKeys.slice(7)) store.tamper(key, undefined);
    // Act
    const report = await verify();
    // Assess: digests are signed hourly, and the newest left is three hours old.
    expect(report.ok).toBe(false);
    expect(report.firstProblem).toMatchObject({ kind: 'digest-missing', objectKey: digests[6] });
    expect(report.firstProblem!.message).toMatch(/signed every 1 h: the digests after it are missing/);
  });

  it('notices the cut when no digest is left within the period checked: the newest before it stands for the end', async () => {
    // Prepare: everything after 09:59 removed; two days later, that day is checked.
    const digests = store.keys(AUDIT_DIGEST_PREFIX);
    for (const key of digests.slice(2)) store.tamper(key, undefined);
    for (let seq = 3; seq <= 10; seq += 1) store.tamper(chainEntryKey(seq), undefined);
    for (const key of dataKeys.slice(2)) store.tamper(key, undefined);
    // Act
    const report = await verifyAuditLog(store, { from: new Date('2026-11-23T00:00:00Z'), to: new Date('2026-11-23T12:00:00Z'), publicKey, keyId: signer.keyId, now: new Date('2026-11-23T12:00:00Z') });
    // Assess
    expect(report.firstProblem).toMatchObject({ kind: 'digest-missing', objectKey: digests[1] });
  });

  it("judges the newest digest's age by the deployment's digest schedule", async () => {
    // Prepare: the last two hours cut off; at 18:30 the newest digest left is of 15:59.
    const digests = store.keys(AUDIT_DIGEST_PREFIX);
    for (const key of digests.slice(8)) store.tamper(key, undefined);
    for (const seq of [9, 10]) store.tamper(chainEntryKey(seq), undefined);
    for (const key of dataKeys.slice(8)) store.tamper(key, undefined);
    // Act
    const sixHourly = await verifyAuditLog(store, { ...DAY, publicKey, keyId: signer.keyId, now: NOW, digestEveryMs: 6 * 3_600_000 });
    const hourly = await verify();
    // Assess: on time for a deployment signing every six hours, two digests missing for an hourly one.
    expect(sixHourly.ok).toBe(true);
    expect(hourly.firstProblem).toMatchObject({ kind: 'digest-missing', objectKey: digests[7] });
  });

  it('checks batches not yet covered by a digest through the chain alone, and says so', async () => {
    // Prepare
    await createAuditArchiveWriter(store).append(archivableFixtures(50, new Date('2026-11-21T20:00:00Z'), 1_000, 50_000));
    // Act
    const report = await verify();
    // Assess
    expect(report).toMatchObject({ ok: true, batches: { checked: 11, signed: 10, unsigned: 1 }, records: { checked: 10_050 } });
  });

  it('tells a leftover of an interrupted write (its records all chained elsewhere) from an insertion', async () => {
    // Prepare: a copy of a chained object under another sequence number, as a crash between the two writes leaves.
    const leftover = dataKeys[1]!.replace(/_(\d{12})_/, '_000000000042_');
    store.tamper(leftover, store.objects.get(dataKeys[1]!)!.body);
    // Act
    const report = await verify();
    // Assess
    expect(report.ok).toBe(true);
    expect(report.findings).toEqual([expect.objectContaining({ severity: 'warning', kind: 'object-orphaned', objectKey: leftover })]);
  });

  describe('on a log of its own', () => {
    /** Three hours of records in a fresh bucket; `digestAt` says after which hours a digest is signed. */
    async function threeHours(digestAt: number[], beforeDigest?: (log: MemoryObjectStore, hour: number) => void): Promise<MemoryObjectStore> {
      const log = new MemoryObjectStore();
      const writer = createAuditArchiveWriter(log, { now: () => NOW });
      for (let hour = 0; hour < 3; hour += 1) {
        await writer.append(archivableFixtures(20, new Date(Date.UTC(2026, 10, 21, 8 + hour, 0, 1)), 1_000, hour * 20));
        beforeDigest?.(log, hour);
        if (digestAt.includes(hour)) await writeAuditDigest(log, signer, new Date(Date.UTC(2026, 10, 21, 8 + hour, 59, 0)));
      }
      await writeAuditDigest(log, signer, new Date(Date.UTC(2026, 10, 21, 18, 0, 0)));
      return log;
    }

    it('reports a digest that signs more than one period: it stands where removed digests were, over a log that may have been rewritten', async () => {
      // Prepare: digests at 08:59 and then only at 18:00 (the hourly ones between removed before it was signed).
      const log = await threeHours([0]);
      // Act
      const report = await verifyAuditLog(log, { ...DAY, publicKey, keyId: signer.keyId, now: NOW });
      // Assess
      expect(report.findings).toContainEqual(expect.objectContaining({ kind: 'digest-missing', message: expect.stringContaining('more than one 1 h period') }));
    });

    it('reports a digest that starts a new chain over batches older than a period: every digest before it was removed', async () => {
      // Prepare: no digest until 18:00, when the digest function finds none and starts afresh.
      const log = await threeHours([]);
      // Act
      const report = await verifyAuditLog(log, { ...DAY, publicKey, keyId: signer.keyId, now: NOW });
      // Assess
      expect(report.findings).toContainEqual(expect.objectContaining({ kind: 'digest-missing', message: expect.stringContaining('starts a new digest chain') }));
    });

    it("takes a first digest's predecessor gone past the bucket's retention for expiry, not removal", async () => {
      // Prepare: eight days on, the bucket (7-day retention) has expired the first digest.
      const log = await threeHours([0, 1, 2]);
      const [first] = log.keys(AUDIT_DIGEST_PREFIX);
      log.tamper(first!, undefined);
      const later = new Date(NOW.getTime() + 8 * 86_400_000);
      const options = { ...DAY, publicKey, keyId: signer.keyId, now: later, digestEveryMs: 12 * 3_600_000 };
      // Act
      const withRetention = await verifyAuditLog(log, { ...options, retentionDays: 7 });
      const assumingThirty = await verifyAuditLog(log, options);
      // Assess (the newest digest's age is reported either way: nothing was signed for eight days)
      expect(withRetention.findings).not.toContainEqual(expect.objectContaining({ kind: 'digest-missing', objectKey: first }));
      expect(assumingThirty.findings).toContainEqual(expect.objectContaining({ kind: 'digest-missing', objectKey: first }));
    });

    it('reports a chain entry a digest signed as unreadable: what it stood for cannot be checked', async () => {
      // Prepare: the last entry is replaced by junk before the digest signs it.
      const log = await threeHours([0, 1, 2], (bucket, hour) => {
        if (hour === 2) bucket.tamper(chainEntryKey(3), new TextEncoder().encode('junk'));
      });
      // Act
      const report = await verifyAuditLog(log, { ...DAY, publicKey, keyId: signer.keyId, now: NOW, digestEveryMs: 12 * 3_600_000 });
      // Assess
      expect(report.findings).toContainEqual(expect.objectContaining({ kind: 'entry-unreadable', seq: 3 }));
      expect(report.ok).toBe(false);
    });
  });
});
