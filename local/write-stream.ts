import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

/** How a stream is to be delivered: paced, and possibly broken off. */
export interface StreamDelivery {
  /** Wait this long between events. */
  readonly intervalMs?: number | undefined;
  /** Drop the connection once this many events have been sent (the rest never are). */
  readonly cutAfter?: number | undefined;
  /** Aborted when the server closes: stop waiting and stop writing. */
  readonly signal: AbortSignal;
}

/**
 * Writes a streamed answer's events (SSE frames or event-stream messages) to a response whose
 * head the caller has set, one write per event, then ends it — or, when told to cut, makes sure
 * what was sent has left the process and destroys the connection, as a crashing server would.
 */
export async function writeStream(
  response: ServerResponse,
  events: readonly (string | Uint8Array)[],
  delivery: StreamDelivery,
): Promise<void> {
  response.flushHeaders();
  for (let index = 0; index < events.length; index += 1) {
    if (delivery.cutAfter === index) return cut(response);
    if (index > 0 && delivery.intervalMs !== undefined) {
      try {
        await sleep(delivery.intervalMs, undefined, { signal: delivery.signal });
      } catch {
        response.destroy();
        return;
      }
    }
    // The caller gave up (e.g. its deadline passed): nobody is left to write to.
    if (response.destroyed) return;
    response.write(events[index]);
  }
  if (delivery.cutAfter !== undefined && delivery.cutAfter >= events.length) return cut(response);
  response.end();
}

async function cut(response: ServerResponse): Promise<void> {
  const socket = response.socket;
  // Everything written so far must reach the client before the connection goes. HTTP corks the
  // socket until the next tick, so wait for its buffer to empty rather than for a 'drain'.
  const giveUpAt = performance.now() + 2_000;
  while (socket && !socket.destroyed && socket.writableLength > 0 && performance.now() < giveUpAt) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  response.destroy();
}

/**
 * Re-cuts a stream's text into pieces of at most `bytes` bytes, ignoring event and character
 * boundaries: what a client's decoder must put back together.
 */
export function fragment(events: readonly string[], bytes: number): Buffer[] {
  const whole = Buffer.from(events.join(''), 'utf8');
  const pieces: Buffer[] = [];
  for (let at = 0; at < whole.length; at += bytes) pieces.push(whole.subarray(at, at + bytes));
  return pieces;
}
