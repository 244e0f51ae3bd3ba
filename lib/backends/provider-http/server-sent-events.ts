/** One event of a `text/event-stream` body. */
export interface ServerSentEvent {
  /** The `event:` field; `message` when the event names none. */
  event: string;
  /** The `data:` lines joined by newlines. */
  data: string;
}

/** The stream is not a well-formed event stream (an event too large to be a real one). */
export class MalformedStreamError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedStreamError';
  }
}

/** No provider chunk comes near this; a larger event is a runaway stream, not an answer. */
const defaultMaxEventLength = 1024 * 1024;

/**
 * Reads a `text/event-stream` body event by event, as the HTML spec's parser does: lines end in
 * LF, CRLF or CR; `data:` lines accumulate; a blank line dispatches; comments, `id:` and `retry:`
 * are skipped; an event cut off by the end of the stream is dropped. Errors of the underlying
 * stream (a broken connection, an abort) propagate as they are. Leaving the loop early stops
 * reading the body, so the connection is not left half read.
 */
export async function* readServerSentEvents(
  body: AsyncIterable<Uint8Array>,
  options: { maxEventLength?: number } = {},
): AsyncGenerator<ServerSentEvent> {
  const maxEventLength = options.maxEventLength ?? defaultMaxEventLength;
  const decoder = new TextDecoder('utf-8', { ignoreBOM: false });
  let buffer = '';
  let eventName = '';
  let data: string[] = [];
  let eventSize = 0;

  /** Dispatches the events whose lines are complete in `buffer`, keeping the rest. */
  function* drain(ended: boolean): Generator<ServerSentEvent> {
    let start = 0;
    for (;;) {
      const lineEnd = nextLineEnd(buffer, start);
      if (lineEnd === -1) break;
      // A CR that ends the buffer may be the first half of a CRLF still in flight.
      if (buffer[lineEnd] === '\r' && lineEnd === buffer.length - 1 && !ended) break;
      const line = buffer.slice(start, lineEnd);
      start = lineEnd + (buffer[lineEnd] === '\r' && buffer[lineEnd + 1] === '\n' ? 2 : 1);
      if (line === '') {
        if (data.length > 0) yield { event: eventName || 'message', data: data.join('\n') };
        eventName = '';
        data = [];
        eventSize = 0;
        continue;
      }
      eventSize += line.length;
      if (eventSize > maxEventLength) throw new MalformedStreamError(`server-sent event over ${maxEventLength} characters`);
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      let fieldValue = colon === -1 ? '' : line.slice(colon + 1);
      if (fieldValue.startsWith(' ')) fieldValue = fieldValue.slice(1);
      if (field === 'data') data.push(fieldValue);
      else if (field === 'event') eventName = fieldValue;
    }
    buffer = buffer.slice(start);
    if (buffer.length + eventSize > maxEventLength) throw new MalformedStreamError(`server-sent event over ${maxEventLength} characters`);
  }

  // Leaving this loop early (the consumer stopped, or a throw) returns the body's iterator, which
  // stops the read and lets the connection go.
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    yield* drain(false);
  }
  buffer += decoder.decode();
  yield* drain(true);
}

function nextLineEnd(text: string, from: number): number {
  for (let index = from; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code === 10 || code === 13) return index;
  }
  return -1;
}
