import type { ServerResponse } from 'node:http';
import { Writable } from 'node:stream';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { runInvocation } from '../invoke-store';

/**
 * Lambda's response streaming, locally. In Lambda, `awslambda` is a global the runtime provides:
 * `streamifyResponse` marks a handler as streaming, and `HttpResponseStream.from` writes the
 * status and headers before the body. middy calls both when a handler uses `streamifyResponse`.
 * This file provides the same global for the local API, so the same handler modules run unchanged.
 */

const STREAMING = Symbol.for('modelgate.local.streaming-handler');

export interface ResponseMetadata {
  statusCode?: number;
  headers?: Record<string, string>;
}

type BufferedHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;
type StreamingHandler = ((event: APIGatewayProxyEvent, stream: Writable, context: Context) => Promise<void>) & { [STREAMING]: true };
export type LambdaHandler = BufferedHandler | StreamingHandler;

/** The response stream a streaming handler writes to: metadata first, then body bytes. */
export class LocalResponseStream extends Writable {
  metadata: ResponseMetadata | undefined;
  private started = false;

  constructor(private readonly sink: (event: { metadata: ResponseMetadata } | { chunk: Buffer } | { end: true }) => Promise<void> | void) {
    super();
  }

  private async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.sink({ metadata: this.metadata ?? {} });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.start()
      .then(() => this.sink({ chunk }))
      .then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.start()
      .then(() => this.sink({ end: true }))
      .then(() => callback(), callback);
  }
}

/** Installs the `awslambda` global (once), as the Lambda Node.js runtime does. */
export function installLambdaStreamingGlobal(): void {
  // The AWS SDK creates an empty `awslambda` object when it loads first: only a global that can
  // already stream counts as installed.
  const scope = globalThis as { awslambda?: Record<string, unknown> };
  if (typeof scope.awslambda?.streamifyResponse === 'function') return;
  // Completed in place: whoever created the object may hold a reference to it.
  scope.awslambda = Object.assign(scope.awslambda ?? {}, {
    streamifyResponse(handler: (event: APIGatewayProxyEvent, stream: Writable, context: Context) => Promise<void>): StreamingHandler {
      return Object.assign((event: APIGatewayProxyEvent, stream: Writable, context: Context) => handler(event, stream, context), {
        [STREAMING]: true as const,
      });
    },
    HttpResponseStream: {
      from(stream: LocalResponseStream, metadata: ResponseMetadata): LocalResponseStream {
        stream.metadata = metadata;
        return stream;
      },
    },
  });
}

export function isStreamingHandler(handler: LambdaHandler): handler is StreamingHandler {
  return (handler as Partial<StreamingHandler>)[STREAMING] === true;
}

/**
 * Runs a handler (in its own context of the invoke store, `installInvokeStore`) and writes its
 * answer to `res` as API Gateway would: a buffered result at once,
 * a streamed one as it is produced. When the caller goes away, the handler's stream is destroyed,
 * as Lambda does, so the handler sees its writes fail.
 */
export async function respondWithHandler(handler: LambdaHandler, event: APIGatewayProxyEvent, context: Context, res: ServerResponse): Promise<void> {
  if (!isStreamingHandler(handler)) {
    const result = await runInvocation(context, () => handler(event, context));
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
    const payload = result.isBase64Encoded ? Buffer.from(result.body, 'base64') : Buffer.from(result.body ?? '', 'utf8');
    res.writeHead(result.statusCode, { ...headers, 'content-length': payload.byteLength });
    res.end(payload);
    return;
  }
  // Chunks leave on the next turn of the event loop, so an answer written and ended at once (every
  // JSON answer) goes out as one write with a content-length, as a buffered API Gateway answer
  // does, instead of headers, a chunk and the chunked terminator as three. A streamed answer's
  // chunks still leave as they come.
  let metadata: ResponseMetadata = {};
  let pending: Buffer[] = [];
  let flushScheduled = false;
  let drained: Promise<void> | undefined;
  const writeHead = (contentLength?: number): void => {
    if (res.headersSent) return;
    const headers = contentLength === undefined ? (metadata.headers ?? {}) : { ...metadata.headers, 'content-length': String(contentLength) };
    res.writeHead(metadata.statusCode ?? 200, headers);
  };
  const flush = (): void => {
    flushScheduled = false;
    if (pending.length === 0 || res.destroyed) return;
    writeHead();
    const chunks = pending;
    pending = [];
    let ready = true;
    for (const chunk of chunks) ready = res.write(chunk);
    if (!ready) drained = new Promise<void>((resolve) => res.once('drain', resolve));
  };
  const stream = new LocalResponseStream(async (event) => {
    if ('metadata' in event) {
      metadata = event.metadata;
    } else if ('chunk' in event) {
      if (drained) await drained;
      drained = undefined;
      pending.push(event.chunk);
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flush);
      }
    } else if (!res.headersSent) {
      const body = Buffer.concat(pending);
      pending = [];
      writeHead(body.byteLength);
      res.end(body);
    } else {
      flush();
      res.end();
    }
  });
  const onClose = (): void => {
    if (!res.writableFinished) stream.destroy(new Error('The caller closed the connection'));
  };
  res.once('close', onClose);
  try {
    await runInvocation(context, () => handler(event, stream, context));
  } finally {
    res.off('close', onClose);
  }
}

/** Runs a handler, streaming or not, and collects its whole answer (benchmarks, tests). */
export async function invokeHandler(
  handler: LambdaHandler,
  event: APIGatewayProxyEvent,
  context: Context,
): Promise<{ statusCode: number; headers: Record<string, string>; body: string }> {
  if (!isStreamingHandler(handler)) {
    const result = await runInvocation(context, () => handler(event, context));
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
    return { statusCode: result.statusCode, headers, body: result.body };
  }
  let metadata: ResponseMetadata = {};
  const chunks: Buffer[] = [];
  const stream = new LocalResponseStream((event) => {
    if ('metadata' in event) metadata = event.metadata;
    else if ('chunk' in event) chunks.push(event.chunk);
  });
  await runInvocation(context, () => handler(event, stream, context));
  return { statusCode: metadata.statusCode ?? 200, headers: metadata.headers ?? {}, body: Buffer.concat(chunks).toString('utf8') };
}
