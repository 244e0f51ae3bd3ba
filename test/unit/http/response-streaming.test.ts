import { Readable, type Writable } from 'node:stream';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildLambdaContext } from '../../../local/api/api-gateway-event';
import { installLambdaStreamingGlobal, LocalResponseStream } from '../../../local/api/lambda-streaming';
import { sendEventStream, streamingHandler } from '../../../lib/http/response-streaming';
import { captureProcessOutput } from './process-output';

installLambdaStreamingGlobal();
type StreamingLambda = (event: APIGatewayProxyEvent, responseStream: Writable, context: Context) => Promise<void>;

/** What a caller receives from a streaming handler: status, and the body as one text. */
async function answerOf(handler: StreamingLambda): Promise<{ statusCode: number | undefined; body: string }> {
  let statusCode: number | undefined;
  const body: Buffer[] = [];
  const response = new LocalResponseStream((part) => {
    if ('metadata' in part) statusCode = part.metadata.statusCode;
    if ('chunk' in part) body.push(part.chunk);
  });
  const context = buildLambdaContext('invoke', 30);
  await handler({} as APIGatewayProxyEvent, response, context);
  return { statusCode, body: Buffer.concat(body).toString() };
}

describe('streamingHandler', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('writes a JSON answer the handler returns, in one piece', async () => {
    // Act
    const answer = await answerOf(streamingHandler(async () => ({ statusCode: 201, headers: {}, body: '{"ok":true}' })) as StreamingLambda);
    // Assess
    expect(answer).toEqual({ statusCode: 201, body: '{"ok":true}' });
  });

  it('never writes a returned answer into events the handler already sent, and logs that it dropped it', async () => {
    // Prepare: events go out, then middy answers for the handler (an early timeout, say).
    const logged = captureProcessOutput();
    const handler = streamingHandler(async (_event, context) => {
      await sendEventStream(context, { statusCode: 200, headers: {}, body: Readable.from(['data: one\n\n', 'data: [DONE]\n\n']) });
      return { statusCode: 500, headers: {}, body: '{"error":{"code":"INTERNAL_ERROR"}}' };
    }) as StreamingLambda;
    // Act
    const answer = await answerOf(handler);
    // Assess
    expect(answer).toEqual({ statusCode: 200, body: 'data: one\n\ndata: [DONE]\n\n' });
    expect(logged.join('')).toContain('An answer after the event stream began was dropped');
  });
});
