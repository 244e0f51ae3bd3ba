import type {
  AnthropicEntity,
  OpenAiEntity,
  SageMakerEntity,
  ServedEntity,
} from '../core/endpoint-config';
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionRequest,
  Completion,
  CompletionChunk,
  CompletionRequest,
  Embeddings,
  EmbeddingsRequest,
} from '../core/openai-api';

/** One call to one served entity, in our shapes: the backend translates to and from its protocol. */
export interface BackendCall<Entity extends ServedEntity, Input> {
  requestId: string;
  entity: Entity;
  /**
   * What to send. LLM inputs are OpenAI-shaped as the caller sent them (`model` is still the
   * endpoint's name; the backend sends its own model); `custom` inputs are the caller's MLflow
   * scoring bytes, forwarded without re-encoding.
   */
  input: Input;
  /** Aborted when this attempt's time is up; the backend stops and throws a 504. */
  signal: AbortSignal;
}

/** A classic model's answer, kept as bytes so a valid answer passes through untouched. */
export interface PredictionAnswer {
  body: Uint8Array;
  contentType: string | undefined;
  /** The production variant that actually answered, where the backend reports it. */
  variant?: string | undefined;
}

/**
 * A model backend, by capability. A backend implements what its protocol can serve (see
 * `BACKEND_TASKS`); the endpoint config refuses a task its entities' backends cannot serve.
 *
 * Implementations throw only `AppError`s: `ModelInputError` (400) for the model's own rejection of
 * the input, which is never retried; `BadGatewayError` (502) for its failures or a malformed answer;
 * `ServiceUnavailableError` (503, `BACKEND_THROTTLED` / `BACKEND_UNAVAILABLE`) for throttling,
 * unavailability and connection failures; `GatewayTimeoutError` (504) when `signal` aborts.
 *
 * Streams: `streamChat` and `streamComplete` yield OpenAI chunks. They ask the provider for token
 * usage and, when it gives some, end with one chunk that has `usage` set and no choices. A failure
 * before the first chunk throws from the first `next()` (so routing can still fall back); a
 * failure after it throws from a later `next()`.
 */
export interface ModelBackend<Entity extends ServedEntity> {
  predict?(call: BackendCall<Entity, Uint8Array>): Promise<PredictionAnswer>;
  chat?(call: BackendCall<Entity, ChatCompletionRequest>): Promise<ChatCompletion>;
  streamChat?(call: BackendCall<Entity, ChatCompletionRequest>): AsyncIterable<ChatCompletionChunk>;
  complete?(call: BackendCall<Entity, CompletionRequest>): Promise<Completion>;
  streamComplete?(call: BackendCall<Entity, CompletionRequest>): AsyncIterable<CompletionChunk>;
  embed?(call: BackendCall<Entity, EmbeddingsRequest>): Promise<Embeddings>;
}

/** Backends by the `backend` field of a served entity: one line per backend. */
export interface BackendRegistry {
  sagemaker: ModelBackend<SageMakerEntity>;
  openai: ModelBackend<OpenAiEntity>;
  anthropic: ModelBackend<AnthropicEntity>;
}
