import type { ResponseStream, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { describe, expect, it } from 'vitest';
import { createSageMakerBackend } from '../../../../lib/backends/sagemaker/create-sagemaker-backend';
import type { SageMakerEntity } from '../../../../lib/core/endpoint-config';
import type { ChatCompletionRequest } from '../../../../lib/core/openai-api';
import { failureOf } from '../outcomes';

const encoder = new TextEncoder();
const entity: SageMakerEntity = { name: 'tgi-llama', backend: 'sagemaker', endpointName: 'tgi-prod', weight: 100, fallbacks: [] };
const request: ChatCompletionRequest = { model: 'chat-endpoint', messages: [{ role: 'user', content: 'Count to two' }], stream: true };
const call = () => ({ requestId: 'req-1', entity, input: request, signal: new AbortController().signal });

/** A SageMaker runtime client whose response stream carries `texts`, one PayloadPart each. */
function streamingClient(texts: string[]): SageMakerRuntimeClient {
  async function* body(): AsyncGenerator<ResponseStream> {
    for (const text of texts) yield { PayloadPart: { Bytes: encoder.encode(text) } };
  }
  return { send: async () => ({ Body: body() }) } as unknown as SageMakerRuntimeClient;
}

function chunkEvent(content: string): string {
  const chunk = { id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content }, finish_reason: null }] };
  return `data: ${JSON.stringify(chunk)}\n\n`;
}

/** One event larger than any real chunk: the reader refuses it at 1 MiB. */
const oversizedEvent = `data: ${'x'.repeat(1_100_000)}`;

describe('SageMaker backend: streamed chat', () => {
  it('fails the first read with 502 BAD_BACKEND_RESPONSE when the first event is oversized', async () => {
    // Prepare
    const backend = createSageMakerBackend(streamingClient([oversizedEvent]));
    // Act
    const error = await failureOf(backend.streamChat!(call())[Symbol.asyncIterator]().next());
    // Assess
    expect([error.statusCode, error.code]).toEqual([502, 'BAD_BACKEND_RESPONSE']);
  });

  it('fails a later read with 502 BAD_BACKEND_RESPONSE when an event after the first chunk is oversized', async () => {
    // Prepare
    const backend = createSageMakerBackend(streamingClient([chunkEvent('One'), oversizedEvent]));
    const stream = backend.streamChat!(call())[Symbol.asyncIterator]();
    // Act
    const first = await stream.next();
    const error = await failureOf(stream.next());
    // Assess
    expect(first.value).toMatchObject({ choices: [{ delta: { content: 'One' } }] });
    expect([error.statusCode, error.code]).toEqual([502, 'BAD_BACKEND_RESPONSE']);
  });
});
