/** One Server-Sent Event: its `event` name (when given) and its `data`, lines joined by "\n". */
export interface ServerSentEvent {
  event: string | undefined;
  data: string;
}

/**
 * Incremental Server-Sent Events parser (the WHATWG event-stream format): feed it text as it
 * arrives, in pieces cut anywhere, and it returns each complete event once its blank line is seen.
 * Comments (`:` lines, used as keep-alives) and `id`/`retry` fields are skipped.
 */
export class ServerSentEventDecoder {
  private buffer = '';
  private event: string | undefined;
  private data: string[] = [];

  push(text: string): ServerSentEvent[] {
    this.buffer += text;
    const events: ServerSentEvent[] = [];
    let newline: number;
    while ((newline = this.buffer.search(/\r\n|\r|\n/)) !== -1) {
      const line = this.buffer.slice(0, newline);
      const width = this.buffer.startsWith('\r\n', newline) ? 2 : 1;
      // A lone "\r" at the end may be the first half of "\r\n": wait for the next piece.
      if (width === 1 && this.buffer[newline] === '\r' && newline === this.buffer.length - 1) break;
      this.buffer = this.buffer.slice(newline + width);
      const event = this.line(line);
      if (event !== undefined) events.push(event);
    }
    return events;
  }

  /** Whether bytes of an unfinished event are still held: a stream ending here was cut short. */
  get pending(): boolean {
    return this.buffer.length > 0 || this.data.length > 0;
  }

  private line(line: string): ServerSentEvent | undefined {
    if (line === '') {
      if (this.data.length === 0) {
        this.event = undefined;
        return undefined;
      }
      const event = { event: this.event, data: this.data.join('\n') };
      this.event = undefined;
      this.data = [];
      return event;
    }
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    return undefined;
  }
}
