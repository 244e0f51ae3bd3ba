import { createServer, get, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Writable } from 'node:stream';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { installLambdaStreamingGlobal, respondWithHandler, type LambdaHandler } from '../../../local/api/lambda-streaming';
import { installInvokeStore } from '../../../local/invoke-store';

installLambdaStreamingGlobal();
await installInvokeStore({ overlapping: false });
const lambda = (globalThis as unknown as {
  awslambda: {
    streamifyResponse(handler: (event: APIGatewayProxyEvent, stream: Writable, context: Context) => Promise<void>): LambdaHandler;
    HttpResponseStream: { from(stream: Writable, metadata: { statusCode: number; headers: Record<string, string> }): Writable };
  };
}).awslambda;

let server: Server | undefined;
afterEach(() => server?.close());

/** Serves one streaming handler through the local API's response path and answers what a client receives. */
async function fetchThrough(handler: LambdaHandler): Promise<{ response: IncomingMessage; chunks: Array<{ text: string; at: number }> }> {
  server = createServer((_req, res) => void respondWithHandler(handler, {} as APIGatewayProxyEvent, {} as Context, res));
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/' }, (response) => {
      const chunks: Array<{ text: string; at: number }> = [];
      response.on('data', (chunk: Buffer) => chunks.push({ text: chunk.toString(), at: performance.now() }));
      response.on('end', () => resolve({ response, chunks }));
    }).on('error', reject);
  });
}

describe('the local API stand-in for Lambda response streaming', () => {
  it('sends an answer written and ended at once with its status, headers and a content-length', async () => {
    // Prepare
    const handler = lambda.streamifyResponse(async (_event, responseStream) => {
      lambda.HttpResponseStream.from(responseStream, { statusCode: 201, headers: { 'content-type': 'application/json' } }).end('{"ok":true}');
    });
    // Act
    const { response, chunks } = await fetchThrough(handler);
    // Assess
    expect(response.statusCode).toBe(201);
    expect(response.headers['content-type']).toBe('application/json');
    expect(response.headers['content-length']).toBe('11');
    expect(response.headers['transfer-encoding']).toBeUndefined();
    expect(chunks.map((chunk) => chunk.text).join('')).toBe('{"ok":true}');
  });

  it('sends a streamed answer chunk by chunk as the handler writes it, not when it ends', async () => {
    // Prepare
    let wroteSecondAt = 0;
    const handler = lambda.streamifyResponse(async (_event, responseStream) => {
      const stream = lambda.HttpResponseStream.from(responseStream, { statusCode: 200, headers: { 'content-type': 'text/event-stream' } });
      stream.write('data: one\n\n');
      await new Promise((resolve) => setTimeout(resolve, 150));
      wroteSecondAt = performance.now();
      stream.end('data: two\n\n');
    });
    // Act
    const { response, chunks } = await fetchThrough(handler);
    // Assess
    expect(response.headers['transfer-encoding']).toBe('chunked');
    expect(chunks.map((chunk) => chunk.text).join('')).toBe('data: one\n\ndata: two\n\n');
    expect(chunks[0]!.text).toBe('data: one\n\n');
    expect(chunks[0]!.at).toBeLessThan(wroteSecondAt);
  });
});
