import { GetObjectCommand, NoSuchKey, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { apiKeyRecordSchema, type ApiKeyRecord } from '../core/api-key';
import type { KeyStore } from '../ports/key-store';

export interface S3KeyStoreOptions {
  bucket: string;
  kmsKeyId?: string | undefined;
  /** How long a found key is trusted before it is read again: the bound on revocation delay. */
  cacheTtlMs?: number;
  now?: () => number;
}

/** Keys are stored one object per key, named by the key's SHA-256, so lookup is one GET. */
export function keyObjectKey(keyHash: string): string {
  return `keys/v1/${keyHash}.json`;
}

export interface S3KeyStore extends KeyStore {
  save(record: ApiKeyRecord): Promise<void>;
}

/**
 * An S3-backed key store with a short per-container cache. Only hashes and metadata are stored.
 */
export function createS3KeyStore(client: S3Client, options: S3KeyStoreOptions): S3KeyStore {
  const ttl = options.cacheTtlMs ?? 60_000;
  const now = options.now ?? Date.now;
  const cache = new Map<string, { record: ApiKeyRecord; expiresAt: number }>();

  return {
    async findByHash(keyHash) {
      const cached = cache.get(keyHash);
      if (cached && cached.expiresAt > now()) return cached.record;
      let text: string;
      try {
        const object = await client.send(new GetObjectCommand({ Bucket: options.bucket, Key: keyObjectKey(keyHash) }));
        text = (await object.Body?.transformToString('utf8')) ?? '';
      } catch (error) {
        if (error instanceof NoSuchKey || (error as { name?: string }).name === 'NoSuchKey') {
          cache.delete(keyHash);
          return undefined;
        }
        throw error;
      }
      const record = apiKeyRecordSchema.parse(JSON.parse(text));
      // A record filed under the wrong hash is corrupt; refuse it rather than trust it.
      if (record.keyHash !== keyHash) return undefined;
      cache.set(keyHash, { record, expiresAt: now() + ttl });
      return record;
    },
    async save(record) {
      await client.send(
        new PutObjectCommand({
          Bucket: options.bucket,
          Key: keyObjectKey(record.keyHash),
          Body: JSON.stringify(record),
          ContentType: 'application/json',
          ServerSideEncryption: 'aws:kms',
          SSEKMSKeyId: options.kmsKeyId,
          BucketKeyEnabled: true,
        }),
      );
      cache.delete(record.keyHash);
    },
  };
}
