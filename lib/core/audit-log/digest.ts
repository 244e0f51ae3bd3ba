import { verify as verifySignature, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import type { DigestSigner } from '../../ports/digest-signer';
import type { ObjectStore } from '../../ports/object-store';
import { chainSeqsAfter, readChainEntry } from './chain';
import { chainEntryKey, digestDayPrefix, digestKey } from './layout';
import { GENESIS_SHA256, sha256Hex } from './sha256';

const sha256 = z.string().regex(/^[0-9a-f]{64}$/);

/** What a digest says about one chain entry, at the time it was signed. */
const digestBatchSchema = z
  .object({
    seq: z.number().int().positive(),
    entryKey: z.string(),
    entrySha256: sha256,
    /** Absent when the entry could not be read when the digest was made (an incident of its own). */
    previousSha256: sha256.optional(),
    dataKey: z.string().optional(),
    objectSha256: sha256.optional(),
    recordsSha256: sha256.optional(),
    recordCount: z.number().int().optional(),
    firstRequestId: z.string().optional(),
    lastRequestId: z.string().optional(),
    unreadable: z.literal(true).optional(),
  })
  .strict();

/**
 * A digest, modelled on CloudTrail's digest files: signed at a point in time, it lists every
 * chain entry added since the previous digest (with the hashes of the entry, its batch object
 * and its records) and links to the previous digest by key, hash and signature. Anyone with the
 * public key can check that nothing listed was changed, removed or added afterwards.
 */
export const digestPayloadSchema = z
  .object({
    version: z.literal(1),
    /** End of the previous digest's period (null for the first digest). */
    digestStartTime: z.string().nullable(),
    digestEndTime: z.string(),
    previousDigest: z.object({ key: z.string(), sha256, signature: z.string() }).strict().nullable(),
    /** The digest covers chain entries `afterSeq + 1 .. headSeq`; `headSha256` is the last one's hash. */
    chain: z.object({ afterSeq: z.number().int().min(0), headSeq: z.number().int().min(0), headSha256: sha256 }).strict(),
    batches: z.array(digestBatchSchema),
  })
  .strict();

const signatureLineSchema = z
  .object({
    algorithm: z.literal('ECDSA_SHA_256'),
    keyId: z.string(),
    /** Base64 DER-encoded ECDSA signature of the string to sign. */
    signature: z.string(),
    /** SHA-256 of the payload line, as signed. */
    signedSha256: sha256,
  })
  .strict();

export type DigestBatch = z.infer<typeof digestBatchSchema>;
export type DigestPayload = z.infer<typeof digestPayloadSchema>;
export type DigestSignatureLine = z.infer<typeof signatureLineSchema>;

/** A digest as stored: line 1 the payload, line 2 its signature. */
export interface StoredDigest {
  key: string;
  bytes: Uint8Array;
  sha256: string;
  payload: DigestPayload;
  signature: DigestSignatureLine;
  /** The exact payload line, as signed. */
  payloadLine: string;
}

/**
 * The string a digest signature covers (as CloudTrail's: end time, object, hash of the content,
 * previous signature), so a signature cannot be moved to another digest or another place in the
 * sequence.
 */
export function digestStringToSign(key: string, payload: DigestPayload, payloadSha256: string): string {
  return ['modelgate-audit-digest/v1', payload.digestEndTime, key, payloadSha256, payload.previousDigest?.signature ?? '-'].join('\n');
}

/** Reads and parses a digest; `undefined` when the object is missing, `null` when it is not a digest. */
export async function readDigest(store: ObjectStore, key: string): Promise<StoredDigest | null | undefined> {
  const bytes = await store.get(key);
  if (!bytes) return undefined;
  const text = new TextDecoder().decode(bytes);
  const [payloadLine, signatureText] = text.split('\n');
  try {
    const payload = digestPayloadSchema.safeParse(JSON.parse(payloadLine ?? ''));
    const signature = signatureLineSchema.safeParse(JSON.parse(signatureText ?? ''));
    if (!payload.success || !signature.success) return null;
    return { key, bytes, sha256: sha256Hex(bytes), payload: payload.data, signature: signature.data, payloadLine: payloadLine! };
  } catch {
    return null;
  }
}

/** Keys of the digests of the days from `from` to `to` (inclusive), oldest first. */
export async function digestKeysBetween(store: ObjectStore, from: Date, to: Date): Promise<string[]> {
  const keys: string[] = [];
  const day = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate()));
  for (; day.getTime() <= to.getTime(); day.setUTCDate(day.getUTCDate() + 1)) {
    for await (const object of store.list(digestDayPrefix(day))) keys.push(object.key);
  }
  return keys;
}

/** The most recent digest, looking back at most `lookbackDays` days from `now`. */
export async function findLatestDigest(store: ObjectStore, now: Date, lookbackDays = 31): Promise<StoredDigest | null | undefined> {
  for (let back = 0; back <= lookbackDays; back += 1) {
    const day = new Date(now.getTime() - back * 86_400_000);
    let last: string | undefined;
    for await (const object of store.list(digestDayPrefix(day))) last = object.key;
    if (last) return readDigest(store, last);
  }
  return undefined;
}

/**
 * Whether the digest's signature is good: made by `publicKey` over this digest at this key, and
 * over exactly its payload line.
 */
export function digestSignatureIsValid(digest: StoredDigest, publicKey: KeyObject): boolean {
  const payloadSha256 = sha256Hex(digest.payloadLine);
  if (payloadSha256 !== digest.signature.signedSha256) return false;
  try {
    return verifySignature(
      'sha256',
      new TextEncoder().encode(digestStringToSign(digest.key, digest.payload, payloadSha256)),
      publicKey,
      Buffer.from(digest.signature.signature, 'base64'),
    );
  } catch {
    return false;
  }
}

export interface DigestResult {
  key: string;
  batches: number;
  headSeq: number;
  /** False when a digest for this second already existed (a repeated schedule). */
  created: boolean;
}

/**
 * Writes the next digest: every chain entry since the previous digest, signed. A period with no
 * new entries still gets a digest, which proves that nothing was appended or removed meanwhile.
 * @throws when the previous digest exists but cannot be read (the digest chain must not fork).
 */
export async function writeAuditDigest(store: ObjectStore, signer: DigestSigner, now: Date): Promise<DigestResult> {
  const previous = await findLatestDigest(store, now);
  if (previous === null) throw new Error('the latest audit digest is not a valid digest; refusing to continue its chain');
  const afterSeq = previous?.payload.chain.headSeq ?? 0;
  const batches: DigestBatch[] = [];
  for await (const seq of chainSeqsAfter(store, afterSeq)) {
    const stored = await readChainEntry(store, seq);
    if (!stored) continue;
    const entry = stored.entry;
    batches.push(
      entry
        ? {
            seq,
            entryKey: chainEntryKey(seq),
            entrySha256: stored.sha256,
            previousSha256: entry.previousSha256,
            dataKey: entry.dataKey,
            objectSha256: entry.objectSha256,
            recordsSha256: entry.recordsSha256,
            recordCount: entry.recordCount,
            firstRequestId: entry.firstRequestId,
            lastRequestId: entry.lastRequestId,
          }
        : { seq, entryKey: chainEntryKey(seq), entrySha256: stored.sha256, unreadable: true },
    );
  }
  const last = batches.at(-1);
  const payload: DigestPayload = {
    version: 1,
    digestStartTime: previous?.payload.digestEndTime ?? null,
    digestEndTime: now.toISOString(),
    previousDigest: previous ? { key: previous.key, sha256: previous.sha256, signature: previous.signature.signature } : null,
    chain: {
      afterSeq,
      headSeq: last?.seq ?? afterSeq,
      headSha256: last?.entrySha256 ?? previous?.payload.chain.headSha256 ?? GENESIS_SHA256,
    },
    batches,
  };
  const key = digestKey(now);
  const payloadLine = JSON.stringify(payload);
  const payloadSha256 = sha256Hex(payloadLine);
  const signature = await signer.sign(new TextEncoder().encode(digestStringToSign(key, payload, payloadSha256)));
  const signatureLine: DigestSignatureLine = {
    algorithm: signer.algorithm,
    keyId: signer.keyId,
    signature: Buffer.from(signature).toString('base64'),
    signedSha256: payloadSha256,
  };
  const body = new TextEncoder().encode(`${payloadLine}\n${JSON.stringify(signatureLine)}\n`);
  const { created } = await store.put(key, body, { ifNoneMatch: true, contentType: 'application/x-ndjson' });
  return { key, batches: batches.length, headSeq: payload.chain.headSeq, created };
}
