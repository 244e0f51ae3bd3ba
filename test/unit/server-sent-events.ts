/** One server-sent event as a client sees it. */
export interface SseEvent {
  event: string | undefined;
  data: string;
}

/** A streamed body read as far as it goes: what arrived, and the error that ended it early, if any. */
export interface StreamRead {
  text: string;
  error: Error | undefined;
}

/** Reads a fetch response body to its end, or to the error that breaks it, keeping what arrived. */
export async function readToEnd(response: Response): Promise<StreamRead> {
  const decoder = new TextDecoder();
  let text = '';
  const reader = response.body!.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { text: text + decoder.decode(), error: undefined };
      text += decoder.decode(value, { stream: true });
    }
  } catch (error) {
    return { text, error: error as Error };
  }
}

/** Splits an SSE body into its complete events (a trailing partial event is dropped). */
export function parseSse(text: string): SseEvent[] {
  const complete = text.slice(0, text.lastIndexOf('\n\n') + 2);
  return complete
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      let event: string | undefined;
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice('event:'.length).trim();
        if (line.startsWith('data:')) data.push(line.slice('data:'.length).replace(/^ /, ''));
      }
      return { event, data: data.join('\n') };
    });
}
