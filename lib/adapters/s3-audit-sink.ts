import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { AuditRecord } from '../core/audit-record';
import type { AuditSink } from '../ports/audit-sink';

export interface S3AuditSinkOptions {
  bucket: string;
  /** The customer-managed KMS key; the bucket's default key when absent. */
  kmsKeyId?: string | undefined;
  prefix?: string;
}

/** Where a record lives: time-partitioned so Athena and `audit show` read one hour at a time. */
export function auditObjectKey(record: Pick<AuditRecord, 'time' | 'requestId'>, prefix = 'audit/v1'): string {
  const day = record.time.slice(0, 10);
  const hour = record.time.slice(11, 13);
  return `${prefix}/dt=${day}/hour=${hour}/${record.requestId}.json`;
}

/**
 * Writes each audit record as its own object, encrypted with SSE-KMS and an S3 bucket key. A
 * straightforward, correct write; the batched, hash-chained log replaces it behind the same port.
 */
export function createS3AuditSink(client: S3Client, options: S3AuditSinkOptions): AuditSink {
  return {
    async record(record) {
      await client.send(
        new PutObjectCommand({
          Bucket: options.bucket,
          Key: auditObjectKey(record, options.prefix),
          Body: JSON.stringify(record),
          ContentType: 'application/json',
          ServerSideEncryption: 'aws:kms',
          SSEKMSKeyId: options.kmsKeyId,
          BucketKeyEnabled: true,
          // Overwriting an existing record would be tampering; a repeated id must fail instead.
          IfNoneMatch: '*',
        }),
      );
    },
  };
}
