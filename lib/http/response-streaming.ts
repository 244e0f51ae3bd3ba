import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import type { StreamingResult } from './api-gateway-event';

/**
 * Lambda's response streaming API: a global the Node.js runtime provides (and, locally,
 * local/api/lambda-streaming.ts). `HttpResponseStream.from` writes status and headers first.
 */
declare const awslambda: {
  streamifyResponse(handler: (event: APIGatewayProxyEvent, responseStream: Writable, context: Context) => Promise<void>): unknown;
  HttpResponseStream: { from(responseStream: Writable, metadata: { statusCode: number; headers: Record<string, string> }): Writable };
};

/**
 * Makes a handler that answers with a `StreamingResult` a Lambda streaming handler. A JSON answer
 * is written to the response stream in one `end`; only Server-Sent Events go through a stream
 * pipeline. (middy's own `streamifyResponse` wraps every string in a Readable and pipes it: a
 * pipeline, its listeners and an AbortController's DOMException per request. Leaving it took the
 * handler's own time at c=1 to ×0.81, `npm run bench:hot-path`, BENCHMARKS.md.)
 */
export function streamingHandler(handle: (event: APIGatewayProxyEvent, context: Context) => Promise<StreamingResult>): unknown {
  return awslambda.streamifyResponse(async (event, responseStream, context) => {
    const { body, ...metadata } = await handle(event, context);
    const stream = awslambda.HttpResponseStream.from(responseStream, metadata);
    if (typeof body !== 'string') return pipeline(body, stream);
    await new Promise<void>((resolve, reject) => {
      stream.once('error', reject);
      stream.end(body, () => {
        stream.off('error', reject);
        resolve();
      });
    });
  });
}
