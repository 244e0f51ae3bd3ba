import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createKeyObjectDigestSigner } from '../../../lib/adapters/key-file-digest-signer';
import { createAuditArchiveWriter } from '../../../lib/core/audit-log/archive-writer';
import { digestSignatureIsValid, readDigest, writeAuditDigest } from '../../../lib/core/audit-log/digest';
import { AUDIT_DIGEST_PREFIX, digestKey } from '../../../lib/core/audit-log/layout';
import { GENESIS_SHA256 } from '../../../lib/core/audit-log/sha256';
import { MemoryObjectStore } from '../../fakes/memory-object-store';
import { archivableFixtures } from '../../fixtures/audit-records';

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signer = createKeyObjectDigestSigner(privateKey);

describe('audit digests', () => {
  it('sign every chain entry since the previous digest and link to it by key, hash and signature', async () => {
    // Prepare
    const store = new MemoryObjectStore();
    const writer = createAuditArchiveWriter(store);
    await writer.append(archivableFixtures(10, new Date('2026-11-21T09:00:00Z')));
    // Act
    const first = await writeAuditDigest(store, signer, new Date('2026-11-21T10:00:00Z'));
    await writer.append(archivableFixtures(10, new Date('2026-11-21T10:10:00Z'), 10, 100));
    await writer.append(archivableFixtures(10, new Date('2026-11-21T10:20:00Z'), 10, 200));
    const second = await writeAuditDigest(store, signer, new Date('2026-11-21T11:00:00Z'));
    const quiet = await writeAuditDigest(store, signer, new Date('2026-11-21T12:00:00Z'));
    // Assess
    expect([first, second, quiet].map(({ batches, headSeq }) => ({ batches, headSeq }))).toEqual([
      { batches: 1, headSeq: 1 },
      { batches: 2, headSeq: 3 },
      { batches: 0, headSeq: 3 },
    ]);
    const [d1, d2, d3] = await Promise.all(store.keys(AUDIT_DIGEST_PREFIX).map((key) => readDigest(store, key)));
    expect(d1!.key).toBe(digestKey(new Date('2026-11-21T10:00:00Z')));
    expect(d1!.payload).toMatchObject({ digestStartTime: null, previousDigest: null, chain: { afterSeq: 0, headSeq: 1 } });
    expect(d1!.payload.batches[0]).toMatchObject({ seq: 1, previousSha256: GENESIS_SHA256, recordCount: 10 });
    expect(d2!.payload).toMatchObject({
      digestStartTime: '2026-11-21T10:00:00.000Z',
      previousDigest: { key: d1!.key, sha256: d1!.sha256, signature: d1!.signature.signature },
      chain: { afterSeq: 1, headSeq: 3, headSha256: d2!.payload.batches[1]!.entrySha256 },
    });
    expect(d3!.payload).toMatchObject({ batches: [], chain: { afterSeq: 3, headSeq: 3, headSha256: d2!.payload.chain.headSha256 } });
    for (const digest of [d1, d2, d3]) expect(digestSignatureIsValid(digest!, publicKey)).toBe(true);
    expect(d1!.signature).toMatchObject({ algorithm: 'ECDSA_SHA_256', keyId: signer.keyId });
  });

  it('binds the signature to the digest\'s place: the same bytes under another key do not verify', async () => {
    const store = new MemoryObjectStore();
    await writeAuditDigest(store, signer, new Date('2026-11-21T10:00:00Z'));
    const original = (await readDigest(store, digestKey(new Date('2026-11-21T10:00:00Z'))))!;
    expect(digestSignatureIsValid({ ...original, key: digestKey(new Date('2026-11-21T09:00:00Z')) }, publicKey)).toBe(false);
    expect(digestSignatureIsValid(original, generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey)).toBe(false);
  });

  it('refuses to continue a digest chain whose latest digest is not a digest', async () => {
    const store = new MemoryObjectStore();
    store.tamper(digestKey(new Date('2026-11-21T09:00:00Z')), new TextEncoder().encode('garbage'));
    await expect(writeAuditDigest(store, signer, new Date('2026-11-21T10:00:00Z'))).rejects.toThrow(/not a valid digest/);
  });
});
