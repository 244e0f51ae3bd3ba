import { ModelError, ModelStreamError, SageMakerRuntimeServiceException } from '@aws-sdk/client-sagemaker-runtime';
import {
  AppError,
  BadGatewayError,
  GatewayTimeoutError,
  InternalError,
  ModelInputError,
  ServiceUnavailableError,
} from '../../core/errors';
import type { SageMakerEntity } from '../../core/endpoint-config';
import { providerFailureError } from '../provider-http/provider-failure';
import { MalformedStreamError } from '../provider-http/server-sent-events';

/** SageMaker's error names for "too busy right now", which a caller may retry later. */
const THROTTLING = new Set(['ThrottlingException', 'ModelNotReadyException', 'TooManyRequestsException']);
const UNAVAILABLE = new Set(['ServiceUnavailable', 'InternalFailure', 'InternalDependencyException', 'InternalStreamFailure']);
/** Network-level failures: the endpoint could not be reached at all. */
const CONNECTION_FAILURES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH']);
/**
 * How @smithy/node-http-handler words its connectionTimeout, the one TimeoutError it throws before
 * the request was sent; it carries no code to tell it from a model that is slow to answer.
 */
const CONNECT_TIMEOUT_MESSAGE = /did not establish a connection/;

/** Maps whatever the SDK threw to an `AppError` whose message is ours, with the original as cause. */
export function translateSageMakerError(error: unknown, call: { entity: SageMakerEntity; signal: AbortSignal }): AppError {
  if (error instanceof AppError) return error;
  const entity = call.entity.name;
  if (call.signal.aborted) {
    return new GatewayTimeoutError(`Served entity ${entity} did not answer in time`, { cause: error });
  }
  if (error instanceof ModelError) {
    const original = error.OriginalStatusCode ?? 500;
    // A container's 429 (TGI's "Model is overloaded") is capacity, not the caller's input.
    if (original === 429) return throttled(entity, error);
    // A container's 408 is the model giving up on time, which another try may cure, as its 5xx.
    if (original >= 400 && original < 500 && original !== 408) {
      // The model's own words about the input are what the caller needs to fix it.
      const detail = modelMessage(error.OriginalMessage);
      return new ModelInputError(`The model rejected the input (status ${original})${detail}`, { cause: error });
    }
    return new BadGatewayError('MODEL_ERROR', `The model behind ${entity} failed (status ${original})`, { cause: error });
  }
  if (error instanceof ModelStreamError) {
    // The model failed part-way through a streamed answer.
    return new BadGatewayError('MODEL_ERROR', `The model behind ${entity} failed while streaming`, { cause: error });
  }
  if (error instanceof MalformedStreamError) {
    return new BadGatewayError('BAD_BACKEND_RESPONSE', `Served entity ${entity} answered with a malformed stream`, { cause: error });
  }
  if (error instanceof SageMakerRuntimeServiceException) {
    if (THROTTLING.has(error.name)) return throttled(entity, error);
    if (UNAVAILABLE.has(error.name) || (error.$metadata.httpStatusCode ?? 0) >= 500) {
      return new ServiceUnavailableError('BACKEND_UNAVAILABLE', `Served entity ${entity} is unavailable`, { cause: error });
    }
    // ValidationError and the like: our request to SageMaker was wrong (unknown endpoint, bad
    // variant) – a configuration fault on our side, not the caller's.
    return new BadGatewayError('BACKEND_REFUSED', `Served entity ${entity} refused the call`, { cause: error });
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && CONNECTION_FAILURES.has(code)) return unreachable(entity, error);
  if (error instanceof Error && error.name === 'TimeoutError') {
    // Our signal is not aborted (checked above): a connect timeout means the model never saw the request.
    if (CONNECT_TIMEOUT_MESSAGE.test(error.message)) return unreachable(entity, error);
    return new GatewayTimeoutError(`Served entity ${entity} did not answer in time`, { cause: error });
  }
  return new InternalError('Internal error', { cause: error });
}

/** Too busy now, as every provider's throttling reads (503 `BACKEND_THROTTLED`, retry after a second). */
function throttled(entity: string, cause: Error): AppError {
  return providerFailureError({ kind: 'throttled', entity, retryAfter: '1', cause });
}

function unreachable(entity: string, cause: unknown): ServiceUnavailableError {
  return new ServiceUnavailableError('BACKEND_UNAVAILABLE', `Served entity ${entity} could not be reached`, { cause });
}

/** The model's own explanation: the `message` of a JSON error body, or its text; bounded. */
function modelMessage(original: string | undefined): string {
  if (typeof original !== 'string' || original.trim() === '') return '';
  let text = original;
  try {
    const parsed = JSON.parse(original) as { message?: unknown };
    if (typeof parsed.message === 'string') text = parsed.message;
  } catch {
    // Not JSON: the model's plain text is its message.
  }
  return `: ${text.slice(0, 500)}`;
}
