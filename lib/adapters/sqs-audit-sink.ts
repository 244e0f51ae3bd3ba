import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { bodyObjectKey } from '../core/audit-log/layout';
import { sha256Hex } from '../core/audit-log/sha256';
import type { AuditedBody, AuditRecord } from '../core/audit-record';
import type { AuditSink } from '../ports/audit-sink';
import type { ObjectStore } from '../ports/object-store';

export interface SqsAuditSinkOptions {
  queueUrl: string;
  /** Where bodies too large for a message go, by their hash (the audit bucket). */
  bodies: ObjectStore;
  /**
   * Largest message sent; larger records have their bodies stored by reference first. Well under
   * SQS's limit (256 KiB on older queues), leaving room for message attributes.
   */
  maxMessageBytes?: number;
}

export const DEFAULT_MAX_AUDIT_MESSAGE_BYTES = 200_000;

const encoder = new TextEncoder();

/**
 * Hands each audit record to the audit queue: one SendMessage, durable once it returns, drained
 * into batched S3 objects by the archiver. A record too large for a message first has its
 * largest bodies stored in the audit bucket under their SHA-256 (the record keeps hash, size and
 * key, so the hash chain still covers them): a second round trip only for those requests.
 */
export function createSqsAuditSink(client: SQSClient, options: SqsAuditSinkOptions): AuditSink {
  const maxBytes = options.maxMessageBytes ?? DEFAULT_MAX_AUDIT_MESSAGE_BYTES;
  return {
    async record(record) {
      let message = toMessageBody(record);
      if (encoder.encode(message).byteLength > maxBytes) {
        message = toMessageBody(await storeBodiesByReference(record, options.bodies, maxBytes));
      }
      if (encoder.encode(message).byteLength > maxBytes) {
        throw new Error(`audit record ${record.requestId} is larger than ${maxBytes} bytes even with its bodies stored by reference`);
      }
      await client.send(
        new SendMessageCommand({
          QueueUrl: options.queueUrl,
          MessageBody: message,
          MessageAttributes: {
            requestId: { DataType: 'String', StringValue: record.requestId },
            schema: { DataType: 'String', StringValue: `audit-record.v${record.version}` },
          },
        }),
      );
    },
  };
}

/**
 * The record as message text. SQS refuses U+FFFE and U+FFFF, which JSON.stringify leaves as they
 * are; escaped, they travel as the same JSON value (and a caller cannot make a request
 * unauditable by sending them).
 */
export function toMessageBody(record: AuditRecord): string {
  return JSON.stringify(record).replace(/[\uFFFE\uFFFF]/g, (char) => `\\u${char.charCodeAt(0).toString(16)}`);
}

async function storeBodiesByReference(record: AuditRecord, store: ObjectStore, maxBytes: number): Promise<AuditRecord> {
  const result: AuditRecord = { ...record };
  const sides = (['request', 'response'] as const)
    .filter((side) => record[side].body !== undefined)
    .map((side) => ({ side, text: JSON.stringify(record[side].body) }))
    .sort((a, b) => b.text.length - a.text.length);
  for (const { side, text } of sides) {
    const bytes = encoder.encode(text);
    const sha256 = sha256Hex(bytes);
    const s3Key = bodyObjectKey(sha256);
    // Content-addressed: an existing object under this key already holds these bytes.
    await store.put(s3Key, bytes, { ifNoneMatch: true, contentType: 'application/json' });
    const { body: _body, ...rest } = record[side];
    const byReference: AuditedBody = { ...rest, ref: { sha256, bytes: bytes.byteLength, s3Key } };
    result[side] = byReference;
    if (encoder.encode(toMessageBody(result)).byteLength <= maxBytes) break;
  }
  return result;
}
