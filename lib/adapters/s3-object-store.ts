import { GetObjectCommand, ListObjectsV2Command, NoSuchKey, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ObjectStore } from '../ports/object-store';

export interface S3ObjectStoreOptions {
  bucket: string;
  /** The customer-managed KMS key. Absent, S3 encrypts under the account's AWS-managed `aws/s3` key, not the bucket's default. */
  kmsKeyId?: string | undefined;
}

/**
 * A bucket behind the {@link ObjectStore} port. Every put is SSE-KMS with an S3 bucket key (the
 * bucket policy refuses anything else); create-only puts send `If-None-Match: *` and report an
 * existing key (412) as `created: false`.
 */
export function createS3ObjectStore(client: S3Client, options: S3ObjectStoreOptions): ObjectStore {
  return {
    async put(key, body, putOptions = {}) {
      // S3 answers 409 while a conflicting conditional write is in flight; it asks for a retry.
      for (let attempt = 1; ; attempt += 1) {
        try {
          await client.send(
            new PutObjectCommand({
              Bucket: options.bucket,
              Key: key,
              Body: body,
              ContentType: putOptions.contentType,
              ContentEncoding: putOptions.contentEncoding,
              Metadata: putOptions.metadata,
              ServerSideEncryption: 'aws:kms',
              SSEKMSKeyId: options.kmsKeyId,
              BucketKeyEnabled: true,
              IfNoneMatch: putOptions.ifNoneMatch ? '*' : undefined,
            }),
          );
          return { created: true };
        } catch (error) {
          const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
          if (putOptions.ifNoneMatch && status === 412) return { created: false };
          if (putOptions.ifNoneMatch && status === 409 && attempt < 4) {
            await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
            continue;
          }
          throw error;
        }
      }
    },

    async get(key) {
      try {
        const object = await client.send(new GetObjectCommand({ Bucket: options.bucket, Key: key }));
        return object.Body ? await object.Body.transformToByteArray() : new Uint8Array();
      } catch (error) {
        if (error instanceof NoSuchKey || (error as { name?: string }).name === 'NoSuchKey') return undefined;
        throw error;
      }
    },

    async *list(prefix, listOptions = {}) {
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({ Bucket: options.bucket, Prefix: prefix, StartAfter: token ? undefined : listOptions.startAfter, ContinuationToken: token }),
        );
        for (const object of page.Contents ?? []) {
          if (object.Key) yield { key: object.Key, size: object.Size ?? 0 };
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    },
  };
}
