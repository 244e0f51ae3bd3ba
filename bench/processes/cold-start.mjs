// One cold start, in a fresh plain `node` process (no tsx, no loader): import a function's
// bundle as Lambda's runtime would, then serve one event. Started by bench/cold-start.ts with
// the function's environment and its unpacked artifact as working directory.
// argv: <bundle .mjs> <event .json> <function name> <timeout seconds>
// Writes one JSON line to fd 3 (stdout is the handler's own log): times in ms, the first one
// from this process's start (performance.timeOrigin).
import { readFileSync, writeSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { randomUUID } from 'node:crypto';

const [bundle, eventFile, functionName, timeoutSeconds] = process.argv.slice(2);
// Reading the event is the runtime's work, not the function's: done before the clock starts.
const event = JSON.parse(readFileSync(eventFile, 'utf8'));

// The Lambda Node.js runtime provides `awslambda` before it imports the handler; streaming
// handlers (middy's streamifyResponse) call it at import. A minimal equivalent: a streaming
// handler writes its status and headers (HttpResponseStream.from) and then its body.
const STREAMING = Symbol('streaming');
globalThis.awslambda = {
  streamifyResponse: (fn) => Object.assign((event, stream, context) => fn(event, stream, context), { [STREAMING]: true }),
  HttpResponseStream: {
    from: (stream, metadata) => {
      stream.metadata = metadata;
      return stream;
    },
  },
};

const importStartedAt = performance.now();
const { handler } = await import(pathToFileURL(bundle).href);
const importedAt = performance.now();

// Mirrors buildLambdaContext (local/api/api-gateway-event.ts): this file runs without tsx, so it
// cannot import that one, and a context (with functions) cannot be passed in as JSON.
const deadline = Date.now() + Number(timeoutSeconds) * 1000;
const context = {
  callbackWaitsForEmptyEventLoop: true,
  functionName,
  functionVersion: '$LATEST',
  invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
  memoryLimitInMB: '1024',
  awsRequestId: randomUUID(),
  logGroupName: `/aws/lambda/${functionName}`,
  logStreamName: 'bench',
  getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
};
let result;
if (handler[STREAMING]) {
  const { Writable } = await import('node:stream');
  const chunks = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
  });
  await handler(event, stream, context);
  result = { statusCode: stream.metadata?.statusCode ?? 200, body: Buffer.concat(chunks).toString('utf8') };
} else {
  result = await handler(event, context);
}
const answeredAt = performance.now();
// HTTP functions report their status; an SQS consumer 200 when no record failed (500 otherwise);
// any other function 200 for having returned without throwing.
const statusCode =
  typeof result?.statusCode === 'number' ? result.statusCode : Array.isArray(result?.batchItemFailures) ? (result.batchItemFailures.length === 0 ? 200 : 500) : 200;

writeSync(
  3,
  `${JSON.stringify({ processStartToImportMs: importStartedAt, importMs: importedAt - importStartedAt, firstRequestMs: answeredAt - importedAt, statusCode })}\n`,
);
// Keep-alive sockets of the SDK clients would hold the process open.
process.exit(0);
