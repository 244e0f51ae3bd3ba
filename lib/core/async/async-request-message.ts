import { z } from 'zod';
import { tenantNameSchema } from '../api-key';
import { isRequestId, requestIdTime } from '../audit-log/layout';
import { jsonNesting, MAX_JSON_NESTING } from '../json-nesting';
import { escapeForSqs } from '../sqs-safe-text';

/** The schema name and version every request queue message carries. */
export const ASYNC_REQUEST_MESSAGE_SCHEMA = 'modelgate.async-request.v1';

/**
 * Bodies whose message would be larger than this travel by reference (claim check): SQS's classic
 * limit is 256 KiB, and the message attributes need room too.
 */
export const MAX_INLINE_MESSAGE_BYTES = 200_000;

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be a lower-case hex SHA-256');

/**
 * A message on the async request queue, as the submission API writes it and as a producer inside
 * AWS may write it itself (IAM-authenticated, straight onto the queue). Version 1:
 *
 * - `requestId`: a UUIDv7 the producer mints in the producers' half of the id space (its fourth
 *   group starts with a or b, `request-id-space.ts`); it is the request's id everywhere (status
 *   API, audit log, usage event) and the unit of idempotency: sending the same id twice runs it once.
 * - `tenant`: who the request is for; the worker checks the tenant may use the endpoint through the
 *   queue (`queueProducers` in the endpoint config) and records a refusal as a failed request.
 * - `endpoint`: the serving endpoint's name.
 * - exactly one of `body` (the request body, a JSON value in the endpoint task's format) or
 *   `bodyRef` (claim check: the body's UTF-8 JSON text is stored in the async bucket under
 *   `requests/v1/<requestId>.json`, SSE-KMS, create-only with `If-None-Match: *` (the bucket
 *   refuses puts there without it); the reference carries its SHA-256 and size).
 */
export const asyncRequestMessageSchema = z
  .object({
    schema: z.literal(ASYNC_REQUEST_MESSAGE_SCHEMA),
    requestId: z.string().refine(isRequestId, 'must be a lower-case UUIDv7'),
    // A tenant name as keys carry it: it becomes table keys, report lines and unmasked log fields.
    tenant: tenantNameSchema,
    endpoint: z.string().min(1).max(63),
    body: z.json().optional(),
    bodyRef: z.object({ sha256, bytes: z.number().int().min(1) }).strict().optional(),
  })
  .strict()
  .refine((message) => (message.body === undefined) !== (message.bodyRef === undefined), {
    message: 'exactly one of body and bodyRef is required',
    path: ['body'],
  });

export type AsyncRequestMessage = z.infer<typeof asyncRequestMessageSchema>;

/** How far a producer's clock may run ahead. */
const FUTURE_SKEW_MS = 5 * 60_000;
const DAY_MS = 86_400_000;

/**
 * How old a message's request id may be to run: a margin short of how long the job store keeps a
 * request (`ASYNC_RETENTION_DAYS`), so the request is always still there to say whether it ran.
 * An older message (a DLQ redriven late, a producer sending again) would otherwise start it anew.
 */
export function oldestRunnableMs(retentionDays: number): number {
  const retentionMs = retentionDays * DAY_MS;
  return retentionMs - Math.min(DAY_MS, retentionMs / 4);
}

/** {@link oldestRunnableMs} in whole hours, as messages and errors state it. */
export function oldestRunnableHours(retentionDays: number): number {
  return Math.round(oldestRunnableMs(retentionDays) / 3_600_000);
}

/** A queue message that cannot be read as a request: it is retried, then dead-lettered, never run. */
export class UnreadableMessageError extends Error {
  override name = 'UnreadableMessageError';
}

/**
 * A well-formed message older than the window its request may run in (a DLQ redriven late): never
 * run, but its request, if it still waits, can be ended as expired rather than left waiting.
 */
export class ExpiredMessageError extends UnreadableMessageError {
  override name = 'ExpiredMessageError';
  constructor(
    message: string,
    readonly request: AsyncRequestMessage,
  ) {
    super(message);
  }
}

/**
 * Reads a queue message body into a request message.
 * @throws UnreadableMessageError naming what is wrong (not JSON, not version 1, a field).
 */
export function parseAsyncRequestMessage(text: string, now: Date, retentionDays: number): AsyncRequestMessage {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new UnreadableMessageError('message body is not JSON');
  }
  // The message is one level around the request body, which may nest as deep as a synchronous one.
  if (jsonNesting(Buffer.from(text, 'utf8')) > MAX_JSON_NESTING + 1) {
    throw new UnreadableMessageError(`body: nests arrays and objects more than ${MAX_JSON_NESTING} levels deep`);
  }
  const parsed = asyncRequestMessageSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map((issue) => `${issue.path.join('.') || '(message)'}: ${issue.message}`);
    throw new UnreadableMessageError(`not a ${ASYNC_REQUEST_MESSAGE_SCHEMA} message: ${issues.join('; ')}`);
  }
  // The body as it was sent: zod's JSON check rebuilds objects and drops a `__proto__` member
  // JSON.parse keeps as data, and the body's hash must match the one taken at submission.
  const { body } = json as { body?: AsyncRequestMessage['body'] };
  const message = body === undefined ? parsed.data : { ...parsed.data, body };
  const minted = requestIdTime(parsed.data.requestId)!.getTime();
  const window = () => `requestId ${parsed.data.requestId} was not minted in the last ${oldestRunnableHours(retentionDays)} hours (requests are kept ${retentionDays} days)`;
  if (minted > now.getTime() + FUTURE_SKEW_MS) throw new UnreadableMessageError(window());
  if (minted < now.getTime() - oldestRunnableMs(retentionDays)) throw new ExpiredMessageError(window(), message);
  return message;
}

/** Who and what a message is about, without its body. */
export interface AsyncRequestHead {
  requestId: string;
  tenant: string;
  endpoint: string;
}

/**
 * The message text with the body inline, or `undefined` when that would exceed `maxBytes` (the
 * body must then be stored and sent by reference). `bodyText` is the body's canonical JSON text.
 */
export function inlineMessageText(head: AsyncRequestHead, bodyText: string, maxBytes = MAX_INLINE_MESSAGE_BYTES): string | undefined {
  const start = JSON.stringify({ schema: ASYNC_REQUEST_MESSAGE_SCHEMA, requestId: head.requestId, tenant: head.tenant, endpoint: head.endpoint });
  const text = escapeForSqs(`${start.slice(0, -1)},"body":${bodyText}}`);
  return Buffer.byteLength(text) <= maxBytes ? text : undefined;
}

/** The message text pointing at a body stored under {@link requestBodyKey}. */
export function referenceMessageText(head: AsyncRequestHead, ref: { sha256: string; bytes: number }): string {
  return JSON.stringify({ schema: ASYNC_REQUEST_MESSAGE_SCHEMA, requestId: head.requestId, tenant: head.tenant, endpoint: head.endpoint, bodyRef: ref });
}

/** Where a body sent by reference is stored in the async bucket. */
export function requestBodyKey(requestId: string): string {
  return `requests/v1/${requestId}.json`;
}

/** Where a request's result (the answer, or the error) is stored in the async bucket. */
export function resultKey(requestId: string): string {
  return `results/v1/${requestId}.json`;
}
