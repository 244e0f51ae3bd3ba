import type { IncomingMessage } from 'node:http';

/** A request body read to the end, keeping at most a limit of it. */
export interface RequestBody {
  /** The body; empty when it passed the limit. */
  readonly bytes: Buffer;
  readonly size: number;
  readonly overLimit: boolean;
}

/**
 * Reads the whole body (so a client still sending never sees a reset), storing at most `limit`
 * bytes; the rest is drained, not kept.
 */
export function readBody(request: IncomingMessage, limit: number): Promise<RequestBody> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    request.once('end', () => {
      const overLimit = size > limit;
      const bytes = overLimit ? Buffer.alloc(0) : chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
      resolve({ bytes, size, overLimit });
    });
    request.once('error', reject);
  });
}
