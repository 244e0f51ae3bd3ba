import {
  InvokeEndpointCommand,
  InvokeEndpointWithResponseStreamCommand,
  type ResponseStream,
  type SageMakerRuntimeClient,
} from '@aws-sdk/client-sagemaker-runtime';
import type { z } from 'zod';
import type { SageMakerEntity } from '../../core/endpoint-config';
import { BadGatewayError } from '../../core/errors';
import {
  chatCompletionChunkSchema,
  chatCompletionSchema,
  completionChunkSchema,
  completionSchema,
  embeddingsSchema,
} from '../../core/openai-api';
import { readServerSentEvents } from '../provider-http/server-sent-events';
import type { BackendCall, ModelBackend, PredictionAnswer } from '../../ports/model-backend';
import { translateSageMakerError } from './errors';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * SageMaker real-time endpoints. Classic models get the caller's MLflow scoring bytes through
 * `InvokeEndpoint`; LLM endpoints are expected to speak OpenAI's chat/completions/embeddings JSON,
 * as SageMaker's LMI and TGI containers do, and stream through `InvokeEndpointWithResponseStream`
 * as Server-Sent Events inside the PayloadPart events. The client is made once per container.
 */
export function createSageMakerBackend(client: SageMakerRuntimeClient): ModelBackend<SageMakerEntity> {
  async function invokeJson<T>(call: BackendCall<SageMakerEntity, object>, body: object, schema: z.ZodType<T>): Promise<T> {
    const answer = await invoke(client, call, encoder.encode(JSON.stringify(body)));
    return parseAnswer(decoder.decode(answer.body), schema, call.entity);
  }

  return {
    predict: (call) => invoke(client, call, call.input),
    chat: (call) => invokeJson(call, { ...call.input, stream: false }, chatCompletionSchema),
    complete: (call) => invokeJson(call, { ...call.input, stream: false }, completionSchema),
    embed: (call) => invokeJson(call, call.input, embeddingsSchema),
    streamChat: (call) => streamEndpoint(client, call, chatCompletionChunkSchema),
    streamComplete: (call) => streamEndpoint(client, call, completionChunkSchema),
  };
}

async function invoke(client: SageMakerRuntimeClient, call: BackendCall<SageMakerEntity, unknown>, body: Uint8Array): Promise<PredictionAnswer> {
  const { entity } = call;
  try {
    const output = await client.send(
      new InvokeEndpointCommand({
        EndpointName: entity.endpointName,
        TargetVariant: entity.variant,
        Body: body,
        ContentType: 'application/json',
        Accept: 'application/json',
        InferenceId: call.requestId,
      }),
      { abortSignal: call.signal },
    );
    return { body: output.Body ?? new Uint8Array(), contentType: output.ContentType, variant: output.InvokedProductionVariant };
  } catch (error) {
    throw translateSageMakerError(error, call);
  }
}

function parseAnswer<T>(text: string, schema: z.ZodType<T>, entity: SageMakerEntity): T {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new BadGatewayError('BAD_BACKEND_RESPONSE', `Served entity ${entity.name} answered with something that is not JSON`, { cause });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new BadGatewayError('BAD_BACKEND_RESPONSE', `Served entity ${entity.name} answered in an unexpected shape`, { cause: parsed.error });
  }
  return parsed.data;
}

/**
 * Streams an LLM endpoint's answer: each PayloadPart carries a piece of the Server-Sent Events
 * text, cut anywhere. A stream that stops without `[DONE]` was cut short and ends in an error.
 */
async function* streamEndpoint<T>(
  client: SageMakerRuntimeClient,
  call: BackendCall<SageMakerEntity, object>,
  schema: z.ZodType<T>,
): AsyncGenerator<T> {
  const { entity } = call;
  const body = { ...call.input, stream: true, stream_options: { include_usage: true } };
  try {
    const output = await client.send(
      new InvokeEndpointWithResponseStreamCommand({
        EndpointName: entity.endpointName,
        TargetVariant: entity.variant,
        Body: encoder.encode(JSON.stringify(body)),
        ContentType: 'application/json',
        Accept: 'text/event-stream',
        InferenceId: call.requestId,
      }),
      { abortSignal: call.signal },
    );
    for await (const event of readServerSentEvents(ReadableStream.from(payloadBytes(output.Body)))) {
      if (event.data === '[DONE]') return;
      yield parseAnswer(event.data, schema, entity);
    }
  } catch (error) {
    throw translateSageMakerError(error, call);
  }
  throw new BadGatewayError('BAD_BACKEND_RESPONSE', `Served entity ${entity.name} ended its stream without [DONE]`);
}

/** The bytes of each PayloadPart; the stream's own error events are thrown as they come. */
async function* payloadBytes(events: AsyncIterable<ResponseStream> | undefined): AsyncGenerator<Uint8Array> {
  for await (const part of events ?? []) {
    if (part.ModelStreamError) throw part.ModelStreamError;
    if (part.InternalStreamFailure) throw part.InternalStreamFailure;
    if (part.PayloadPart?.Bytes) yield part.PayloadPart.Bytes;
  }
}
