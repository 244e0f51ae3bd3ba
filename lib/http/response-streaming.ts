import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import type { EventStreamResult, StreamingResult } from './api-gateway-event';
import { InternalError } from '../core/errors';
import { logger } from './logger';

/**
 * Lambda's response streaming API: a global the Node.js runtime provides (and, locally,
 * local/api/lambda-streaming.ts). `HttpResponseStream.from` writes status and headers first.
 */
declare const awslambda: {
  streamifyResponse(handler: (event: APIGatewayProxyEvent, responseStream: Writable, context: Context) => Promise<void>): unknown;
  HttpResponseStream: { from(responseStream: Writable, metadata: { statusCode: number; headers: Record<string, string> }): Writable };
};

/** Each running invocation's response stream, until it is answered (the context is per invocation). */
const responseStreams = new WeakMap<Context, Writable>();

/**
 * Makes a handler that answers with a `StreamingResult` a Lambda streaming handler. A JSON answer
 * the handler returns is written to the response stream in one `end` once middy is done with it.
 * Server-Sent Events are sent by the handler itself (`sendEventStream`), so they are written
 * while middy's after phase still waits. (middy's own `streamifyResponse` wraps every string in a
 * Readable and pipes it: a pipeline, its listeners and an AbortController's DOMException per
 * request. Leaving it took the handler's own time at c=1 to ×0.81, `npm run bench:hot-path`,
 * BENCHMARKS.md.)
 */
export function streamingHandler(handle: (event: APIGatewayProxyEvent, context: Context) => Promise<StreamingResult | undefined>): unknown {
  return awslambda.streamifyResponse(async (event, responseStream, context) => {
    responseStreams.set(context, responseStream);
    try {
      const result = await handle(event, context);
      if (result === undefined) return;
      if (!responseStreams.has(context)) {
        // The handler's events already hold the stream (middy answered for it: an early timeout,
        // or an error once they were sent): writing there would corrupt what the caller got.
        logger.error('An answer after the event stream began was dropped', { status: result.statusCode });
        return;
      }
      const { body, ...metadata } = result;
      const stream = awslambda.HttpResponseStream.from(responseStream, metadata);
      await new Promise<void>((resolve, reject) => {
        stream.once('error', reject);
        stream.end(body, () => {
          stream.off('error', reject);
          resolve();
        });
      });
    } finally {
      responseStreams.delete(context);
    }
  });
}

/**
 * Sends Server-Sent Events from inside the handler, so the request's log keys, metrics and trace
 * segment still hold while they flow, and the invocation lasts until the stream has settled (in
 * Lambda, work left for after the handler returns waits for the next invocation, or never runs).
 * Resolves when the last event was written; rejects when the caller went away first.
 */
export async function sendEventStream(context: Context, result: EventStreamResult): Promise<void> {
  const responseStream = responseStreams.get(context);
  // streamingHandler registers every invocation it runs: anything else is a wiring fault.
  if (responseStream === undefined) throw new InternalError('No response stream for this invocation');
  responseStreams.delete(context);
  const { body, ...metadata } = result;
  await pipeline(body, awslambda.HttpResponseStream.from(responseStream, metadata));
}
