import type { Writable } from 'node:stream';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { buildApiGatewayEvent, buildLambdaContext } from '../../../local/api/api-gateway-event';
import { installLambdaStreamingGlobal, LocalResponseStream } from '../../../local/api/lambda-streaming';
import { installInvokeStore, runInvocation } from '../../../local/invoke-store';
import { apiKeyRecordFor } from '../../../lib/core/api-key';
import { CircuitBreakers } from '../../../lib/core/circuit-breaker';
import { createEndpointRegistry } from '../../../lib/core/endpoint-registry';
import type { ChatCompletionChunk } from '../../../lib/core/openai-api';
import type { InvocationDeps } from '../../../lib/core/serve-invocation';
import { invocationHandler } from '../../../lib/http/invocation-handler';
import { captureProcessOutput } from './process-output';
import { FakeKeyStore, ManualClock, RecordingAuditSink, RecordingUsageSink, ScriptedBackend, scriptedRegistry } from '../../fakes/fake-ports';

installLambdaStreamingGlobal();
await installInvokeStore({ overlapping: true });

const KEY = `mgk_${'s'.repeat(43)}`;
type StreamingLambda = (event: APIGatewayProxyEvent, responseStream: Writable, context: Context) => Promise<void>;

function chunk(content: string): ChatCompletionChunk {
  return { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1_763_700_000, model: 'llama-3', choices: [{ index: 0, delta: { content }, finish_reason: null }] };
}

function chatEvent(): APIGatewayProxyEvent {
  return buildApiGatewayEvent({
    method: 'POST',
    path: '/v1/chat/completions',
    query: new URLSearchParams(),
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: Buffer.from(JSON.stringify({ model: 'assistant', stream: true, messages: [{ role: 'user', content: 'Count slowly.' }] })),
    sourceIp: '203.0.113.9',
    resource: '/v1/chat/completions',
    pathParameters: {},
    stage: 'local',
  });
}

/** The JSON lines the function logged (Powertools writes them to standard output and error). */
function logLines(written: string[]): Array<Record<string, unknown>> {
  return written
    .join('')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('the invocation handler streaming Server-Sent Events', () => {
  let backend: ScriptedBackend;
  let audit: RecordingAuditSink;
  let handler: StreamingLambda;
  let written: string[];

  beforeEach(() => {
    backend = new ScriptedBackend(async () => Promise.reject(new Error('not a custom endpoint')));
    const usage = new RecordingUsageSink();
    audit = new RecordingAuditSink(usage);
    const deps: InvocationDeps = {
      endpoints: createEndpointRegistry({
        version: 1,
        endpoints: [{ name: 'assistant', task: 'chat', servedEntities: [{ name: 'llama-sagemaker', backend: 'sagemaker', endpointName: 'llama' }] }],
      }),
      keys: new FakeKeyStore([apiKeyRecordFor(KEY, { tenant: 'acme', roles: ['invoke'], endpoints: ['*'], now: new Date() })]),
      backends: scriptedRegistry(backend),
      audit,
      usage,
      clock: new ManualClock(),
      breakers: new CircuitBreakers(),
      sleep: async () => undefined,
    };
    handler = invocationHandler(deps, () => 'chat') as StreamingLambda;
    written = captureProcessOutput();
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('settles a stream the caller left mid-way before the invocation ends: audited as 499, logged under its request id', async () => {
    // Prepare: a model that sends one chunk, then takes its time until it is stopped.
    backend.streamChatWith = (call) =>
      (async function* () {
        yield chunk('One');
        await new Promise((resolve) => call.signal.addEventListener('abort', resolve, { once: true }));
        throw new Error('the model stream was stopped');
      })();
    let headers: Record<string, string> = {};
    const response: LocalResponseStream = new LocalResponseStream((part) => {
      if ('metadata' in part) headers = part.metadata.headers ?? {};
      // The caller reads the first event, then hangs up.
      if ('chunk' in part) setImmediate(() => response.destroy(new Error('The caller closed the connection')));
    });
    const context = buildLambdaContext('invoke', 30);
    // Act
    await runInvocation(context, () => handler(chatEvent(), response, context));
    // Assess: everything below happened before the invocation ended (in Lambda, later is never).
    expect(audit.records).toEqual([expect.objectContaining({ status: 499, errorCode: 'CLIENT_CLOSED_REQUEST', streamed: true })]);
    const requestId = headers['x-request-id'];
    expect(requestId).toMatch(/.+/);
    const lines = logLines(written);
    expect(lines).toContainEqual(expect.objectContaining({ message: 'Invocation', status: 499, requestId }));
    expect(lines).toContainEqual(expect.objectContaining({ _aws: expect.anything(), ClientError: 1 }));
  });

  it('logs and publishes the metrics of a stream that ran to its end within the invocation', async () => {
    // Prepare
    backend.streamChatWith = () =>
      (async function* () {
        yield chunk('One, ');
        yield chunk('two.');
      })();
    let headers: Record<string, string> = {};
    const body: Buffer[] = [];
    const response = new LocalResponseStream((part) => {
      if ('metadata' in part) headers = part.metadata.headers ?? {};
      if ('chunk' in part) body.push(part.chunk);
    });
    const context = buildLambdaContext('invoke', 30);
    // Act
    await runInvocation(context, () => handler(chatEvent(), response, context));
    // Assess
    expect(Buffer.concat(body).toString()).toMatch(/data: \[DONE\]\n\n$/);
    expect(audit.records).toEqual([expect.objectContaining({ status: 200, streamed: true })]);
    const lines = logLines(written);
    expect(lines).toContainEqual(expect.objectContaining({ message: 'Invocation', status: 200, requestId: headers['x-request-id'] }));
    expect(lines).toContainEqual(expect.objectContaining({ _aws: expect.anything(), Success: 1 }));
    // Metrics are published once, after the stream: never an empty set when the handler returned.
    expect(lines.filter((line) => String(line.message).startsWith('No application metrics'))).toEqual([]);
  });
});
