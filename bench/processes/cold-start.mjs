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
const result = await handler(event, context);
const answeredAt = performance.now();

writeSync(
  3,
  `${JSON.stringify({ processStartToImportMs: importStartedAt, importMs: importedAt - importStartedAt, firstRequestMs: answeredAt - importedAt, statusCode: result?.statusCode })}\n`,
);
// Keep-alive sockets of the SDK clients would hold the process open.
process.exit(0);
