import { describe, expect, it } from 'vitest';
import { MalformedStreamError, readServerSentEvents, type ServerSentEvent } from '../../../lib/backends/provider-http/server-sent-events';

/** A body that delivers the text in the given pieces. */
function body(...pieces: string[]): ReadableStream<Uint8Array> {
  const encoded = pieces.map((piece) => new TextEncoder().encode(piece));
  return new ReadableStream({
    pull(controller) {
      const next = encoded.shift();
      if (next === undefined) controller.close();
      else controller.enqueue(next);
    },
  });
}

async function events(stream: ReadableStream<Uint8Array>, options?: { maxEventLength?: number }): Promise<ServerSentEvent[]> {
  const read: ServerSentEvent[] = [];
  for await (const event of readServerSentEvents(stream, options)) read.push(event);
  return read;
}

describe('readServerSentEvents', () => {
  it('reads named and unnamed events, joining multi-line data and skipping comments, id and retry', async () => {
    const text = ': hello\nevent: message_start\nid: 1\nretry: 10\ndata: {"a":\ndata:1}\n\ndata: plain\n\n';
    expect(await events(body(text))).toEqual([
      { event: 'message_start', data: '{"a":\n1}' },
      { event: 'message', data: 'plain' },
    ]);
  });

  it('accepts LF, CRLF and CR line endings, even with a CRLF split across two reads', async () => {
    expect(await events(body('data: a\r', '\n\r\ndata: b\r\rdata: c\n\n'))).toEqual([
      { event: 'message', data: 'a' },
      { event: 'message', data: 'b' },
      { event: 'message', data: 'c' },
    ]);
  });

  it('decodes a multi-byte character split across two reads', async () => {
    const bytes = new TextEncoder().encode('data: é\n\n');
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes.slice(0, 7));
        controller.enqueue(bytes.slice(7));
        controller.close();
      },
    });
    expect(await events(stream)).toEqual([{ event: 'message', data: 'é' }]);
  });

  it('drops an event the stream cut off before its blank line', async () => {
    expect(await events(body('data: whole\n\ndata: half'))).toEqual([{ event: 'message', data: 'whole' }]);
  });

  it('refuses an event larger than the limit instead of buffering without end', async () => {
    await expect(events(body('data: ', 'x'.repeat(100), 'y'.repeat(100)), { maxEventLength: 150 })).rejects.toBeInstanceOf(MalformedStreamError);
  });
});
