import type { z } from 'zod';
import { describeIssues } from './describe-issues';
import type { ServedEntity, ServingEndpoint, Task } from './endpoint-config';
import { BadGatewayError, InternalError, InvalidRequestError } from './errors';
import {
  chatCompletionRequestSchema,
  completionRequestSchema,
  embeddingsRequestSchema,
  type ChatCompletion,
  type ChatCompletionChunk,
  type ChatCompletionRequest,
  type Completion,
  type CompletionChunk,
  type CompletionRequest,
  type Embeddings,
  type EmbeddingsRequest,
} from './openai-api';
import { parsePredictionResponse } from './prediction-response';
import { parseScoringRequest } from './scoring-request';
import type { BackendCall, BackendRegistry, ModelBackend } from '../ports/model-backend';

/** A validated request body, by the endpoint's task. */
export type ModelInput =
  | { task: 'custom'; body: Uint8Array; rows: number }
  | { task: 'chat'; request: ChatCompletionRequest }
  | { task: 'completions'; request: CompletionRequest }
  | { task: 'embeddings'; request: EmbeddingsRequest };

/** A backend's checked answer, by task. */
export type ModelAnswer =
  | { task: 'custom'; body: Uint8Array; json: unknown }
  | { task: 'chat'; answer: ChatCompletion }
  | { task: 'completions'; answer: Completion }
  | { task: 'embeddings'; answer: Embeddings };

export type ModelChunk = ChatCompletionChunk | CompletionChunk;

/** A stream whose first chunk has arrived: from here on the request is committed to its entity. */
export interface OpenedStream {
  first: ModelChunk;
  rest: AsyncIterator<ModelChunk>;
}

const LLM_SCHEMAS = {
  chat: chatCompletionRequestSchema,
  completions: completionRequestSchema,
  embeddings: embeddingsRequestSchema,
} as const;

/**
 * Checks a parsed JSON body against what the endpoint's task accepts.
 * @throws InvalidRequestError (400) naming the offending field.
 */
export function parseModelInput(endpoint: ServingEndpoint, body: Uint8Array, json: unknown): ModelInput {
  if (endpoint.task === 'custom') return { task: 'custom', body, rows: parseScoringRequest(json).rows };
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new InvalidRequestError(`Request body must be a JSON object: endpoint ${endpoint.name} serves the ${endpoint.task} task`);
  }
  // On /serving-endpoints/{name}/invocations the endpoint is in the path, so `model` may be left out.
  const withModel = { model: endpoint.name, ...json };
  const schema: z.ZodType = LLM_SCHEMAS[endpoint.task];
  const parsed = schema.safeParse(withModel);
  if (!parsed.success) throw new InvalidRequestError(describeIssues(parsed.error.issues), { cause: parsed.error });
  // The caller's own object (zod's copy would drop nothing, but this one is already in hand).
  switch (endpoint.task) {
    case 'chat':
      return { task: 'chat', request: withModel as ChatCompletionRequest };
    case 'completions':
      return { task: 'completions', request: withModel as CompletionRequest };
    case 'embeddings':
      return { task: 'embeddings', request: withModel as EmbeddingsRequest };
  }
}

/** Whether the caller asked for Server-Sent Events. */
export function wantsStream(input: ModelInput): boolean {
  return (input.task === 'chat' || input.task === 'completions') && input.request.stream === true;
}

/**
 * The backend for an entity. The registry is keyed by the same `backend` field the entity carries,
 * so the entity always fits the backend it selects; TypeScript cannot see that correlation.
 */
function backendOf(backends: BackendRegistry, entity: ServedEntity): ModelBackend<ServedEntity> {
  return backends[entity.backend] as ModelBackend<ServedEntity>;
}

function capability<Method>(method: Method | undefined, entity: ServedEntity, task: Task): Method {
  // The endpoint config refuses tasks a backend cannot serve, so this is a bug, not bad input.
  if (method === undefined) throw new InternalError(`Backend ${entity.backend} of ${entity.name} cannot serve ${task}`);
  return method;
}

function callOf<Input>(entity: ServedEntity, input: Input, requestId: string, signal: AbortSignal): BackendCall<ServedEntity, Input> {
  return { requestId, entity, input, signal };
}

/** Calls one served entity and checks its answer (a malformed one is a 502). */
export async function callModel(
  backends: BackendRegistry,
  entity: ServedEntity,
  input: ModelInput,
  requestId: string,
  signal: AbortSignal,
): Promise<ModelAnswer> {
  const backend = backendOf(backends, entity);
  switch (input.task) {
    case 'custom': {
      const answer = await capability(backend.predict, entity, input.task).call(backend, callOf(entity, input.body, requestId, signal));
      return { task: 'custom', body: answer.body, json: parsePredictionResponse(answer.body) };
    }
    case 'chat':
      return { task: 'chat', answer: await capability(backend.chat, entity, input.task).call(backend, callOf(entity, input.request, requestId, signal)) };
    case 'completions':
      return {
        task: 'completions',
        answer: await capability(backend.complete, entity, input.task).call(backend, callOf(entity, input.request, requestId, signal)),
      };
    case 'embeddings': {
      // Backends always answer floats; the caller's base64 encoding is applied to the answer.
      const { encoding_format: _encoding, ...floats } = input.request;
      return { task: 'embeddings', answer: await capability(backend.embed, entity, input.task).call(backend, callOf(entity, floats, requestId, signal)) };
    }
  }
}

/**
 * Opens a stream on one served entity and waits for its first chunk, so that a failure before any
 * byte reaches the caller can still be retried or fall back.
 */
export async function openModelStream(
  backends: BackendRegistry,
  entity: ServedEntity,
  input: ModelInput,
  requestId: string,
  signal: AbortSignal,
): Promise<OpenedStream> {
  const backend = backendOf(backends, entity);
  let stream: AsyncIterable<ModelChunk>;
  if (input.task === 'chat') {
    stream = capability(backend.streamChat, entity, input.task).call(backend, callOf(entity, input.request, requestId, signal));
  } else if (input.task === 'completions') {
    stream = capability(backend.streamComplete, entity, input.task).call(backend, callOf(entity, input.request, requestId, signal));
  } else {
    throw new InternalError(`Task ${input.task} does not stream`);
  }
  const rest = stream[Symbol.asyncIterator]();
  const first = await rest.next();
  if (first.done === true) {
    throw new BadGatewayError('BAD_BACKEND_RESPONSE', `Served entity ${entity.name} ended its stream without a chunk`);
  }
  return { first: first.value, rest };
}
