import type { SQSClient } from '@aws-sdk/client-sqs';
import { bodyObjectKey } from '../core/audit-log/layout';
import { sha256Hex } from '../core/audit-log/sha256';
import { USAGE_EVENT_ATTRIBUTE } from '../core/audit-log/archivable-record';
import type { AuditedBody, AuditRecord } from '../core/audit-record';
import { sqsSafeJson } from '../core/sqs-safe-text';
import type { AuditSink } from '../ports/audit-sink';
import type { ObjectStore } from '../ports/object-store';
import { createGroupCommitSender } from './sqs-group-commit';

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
/** What SQS counts for a String attribute besides its value: its name and data type, with room to spare. */
const ATTRIBUTE_OVERHEAD_BYTES = 64;

/**
 * Hands each audit record to the audit queue: one SendMessage, durable once it returns, drained
 * into batched S3 objects by the archiver. The usage event billing the request rides along as a
 * message attribute (the record's text stays exactly what is archived), and the archiver forwards
 * it to the usage queue: the request path pays for one SQS call, not two. A record too large for
 * a message first has its largest bodies stored in the audit bucket under their SHA-256 (the
 * record keeps hash, size and key, so the hash chain still covers them): a second round trip only
 * for those requests. Records of concurrent requests share SendMessageBatch calls (group commit,
 * `sqs-group-commit.ts`); each request still waits for its own record to be stored.
 */
export function createSqsAuditSink(client: SQSClient, options: SqsAuditSinkOptions): AuditSink {
  const maxBytes = options.maxMessageBytes ?? DEFAULT_MAX_AUDIT_MESSAGE_BYTES;
  const send = createGroupCommitSender(client, options.queueUrl);
  return {
    async record(record, usage) {
      const usageText = usage === undefined ? undefined : sqsSafeJson(usage);
      const budget = maxBytes - (usageText === undefined ? 0 : Buffer.byteLength(usageText) + ATTRIBUTE_OVERHEAD_BYTES);
      let message = toMessageBody(record);
      if (Buffer.byteLength(message) > budget) {
        message = toMessageBody(await storeBodiesByReference(record, options.bodies, budget));
        if (Buffer.byteLength(message) > budget) {
          throw new Error(`audit record ${record.requestId} is larger than ${maxBytes} bytes even with its bodies stored by reference`);
        }
      }
      await send({
        MessageBody: message,
        MessageAttributes: {
          requestId: { DataType: 'String', StringValue: record.requestId },
          schema: { DataType: 'String', StringValue: `audit-record.v${record.version}` },
          ...(usageText === undefined ? {} : { [USAGE_EVENT_ATTRIBUTE]: { DataType: 'String', StringValue: usageText } }),
        },
      });
    },
  };
}

/** The record as message text. */
export function toMessageBody(record: AuditRecord): string {
  return sqsSafeJson(record);
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
    if (Buffer.byteLength(toMessageBody(result)) <= maxBytes) break;
  }
  return result;
}
