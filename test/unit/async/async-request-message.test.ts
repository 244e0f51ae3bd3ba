import { v7 as uuidv7 } from 'uuid';
import { describe, expect, it } from 'vitest';
import {
  ASYNC_REQUEST_MESSAGE_SCHEMA,
  inlineMessageText,
  parseAsyncRequestMessage,
  referenceMessageText,
  UnreadableMessageError,
} from '../../../lib/core/async/async-request-message';

const now = new Date('2026-11-21T10:00:00Z');
const id = uuidv7({ msecs: now.getTime() - 60_000 });
const head = { requestId: id, tenant: 'acme', endpoint: 'iris' };

describe('the async request message (version 1)', () => {
  it('reads a message with its body inline, and one with a reference to a stored body', () => {
    // Act
    const inline = parseAsyncRequestMessage(inlineMessageText(head, '{"instances":[[1,2,3,4]]}')!, now, 7);
    const byReference = parseAsyncRequestMessage(referenceMessageText(head, { sha256: 'a'.repeat(64), bytes: 300_000 }), now, 7);
    // Assess
    expect(inline).toEqual({ schema: ASYNC_REQUEST_MESSAGE_SCHEMA, ...head, body: { instances: [[1, 2, 3, 4]] } });
    expect(byReference.bodyRef).toEqual({ sha256: 'a'.repeat(64), bytes: 300_000 });
  });

  it('keeps the body exactly as sent, a `__proto__` member included, so its hash matches the one taken at submission', () => {
    // Prepare: JSON.parse keeps `__proto__` as an ordinary member; a rebuilt object would lose it.
    const bodyText = '{"instances":[{"__proto__":{"x":1},"y":2}]}';
    // Act
    const parsed = parseAsyncRequestMessage(inlineMessageText(head, bodyText)!, now, 7);
    // Assess
    expect(JSON.stringify(parsed.body)).toBe(JSON.stringify(JSON.parse(bodyText)));
  });

  it('refuses a body nested deeper than a synchronous request may be, as unreadable (not a stack overflow)', () => {
    const deep = `{"instances":${'['.repeat(5_000)}1${']'.repeat(5_000)}}`;
    expect(() => parseAsyncRequestMessage(inlineMessageText(head, deep)!, now, 7)).toThrow(/body: nests arrays and objects more than 64 levels deep/);
    const allowed = `{"instances":${'['.repeat(63)}1${']'.repeat(63)}}`;
    expect(parseAsyncRequestMessage(inlineMessageText(head, allowed)!, now, 7).body).toEqual(JSON.parse(allowed));
  });

  it('sends by reference what would not fit a message', () => {
    expect(inlineMessageText(head, `"${'x'.repeat(300)}"`, 200)).toBeUndefined();
    expect(inlineMessageText(head, '"small"', 200)).toBeDefined();
  });

  it('keeps U+FFFF, which SQS refuses, as an escape of the same JSON value', () => {
    // Act
    const text = inlineMessageText(head, JSON.stringify({ instances: ['a\uFFFFb'] }))!;
    // Assess
    expect(text).not.toContain('\uFFFF');
    expect(parseAsyncRequestMessage(text, now, 7).body).toEqual({ instances: ['a\uFFFFb'] });
  });

  it.each([
    ['not JSON', 'hello', /not JSON/],
    ['another schema version', JSON.stringify({ ...head, schema: 'modelgate.async-request.v2', body: {} }), /schema/],
    ['both body and bodyRef', JSON.stringify({ schema: ASYNC_REQUEST_MESSAGE_SCHEMA, ...head, body: {}, bodyRef: { sha256: 'a'.repeat(64), bytes: 1 } }), /exactly one of body and bodyRef/],
    ['neither', JSON.stringify({ schema: ASYNC_REQUEST_MESSAGE_SCHEMA, ...head }), /exactly one of body and bodyRef/],
    ['a request id that is not a UUIDv7', JSON.stringify({ schema: ASYNC_REQUEST_MESSAGE_SCHEMA, ...head, requestId: 'job-1', body: {} }), /requestId/],
    ['an unknown field', JSON.stringify({ schema: ASYNC_REQUEST_MESSAGE_SCHEMA, ...head, body: {}, priority: 1 }), /priority|Unrecognized/],
    ['a tenant that is not a tenant name', JSON.stringify({ schema: ASYNC_REQUEST_MESSAGE_SCHEMA, ...head, tenant: 'Acme Corp <script>', body: {} }), /tenant: must be 1-63 lowercase/],
    ['an id minted in the future', JSON.stringify({ schema: ASYNC_REQUEST_MESSAGE_SCHEMA, ...head, requestId: uuidv7({ msecs: now.getTime() + 3_600_000 }), body: {} }), /not minted in the last 144 hours/],
    // Kept 7 days, a request may still be asked whether it ran for 6: an older message could run it again.
    ['an id older than the requests kept', JSON.stringify({ schema: ASYNC_REQUEST_MESSAGE_SCHEMA, ...head, requestId: uuidv7({ msecs: now.getTime() - 6.5 * 86_400_000 }), body: {} }), /not minted in the last 144 hours \(requests are kept 7 days\)/],
  ])('refuses %s', (_name, text, reason) => {
    expect(() => parseAsyncRequestMessage(text, now, 7)).toThrow(UnreadableMessageError);
    expect(() => parseAsyncRequestMessage(text, now, 7)).toThrow(reason);
  });
});
