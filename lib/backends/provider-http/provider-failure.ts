import {
  type AppError,
  BadGatewayError,
  ModelInputError,
  ServiceUnavailableError,
} from '../../core/errors';

/**
 * What a provider's refusal means for modelgate, whatever the provider's own vocabulary:
 * - `input`: the caller's request was wrong (a 400 the caller can fix; never retried);
 * - `credentials`: the provider refused modelgate's own key (our configuration, never the caller's);
 * - `refused`: the provider refused the call for another reason of ours (unknown model, wrong
 *   path, our account out of quota);
 * - `throttled`: too busy right now; retry later or elsewhere;
 * - `unavailable`: down or not ready;
 * - `failed`: the model failed while answering.
 */
export type ProviderFailureKind = 'input' | 'credentials' | 'refused' | 'throttled' | 'unavailable' | 'failed';

/** One provider refusal, already classified; the message is bounded and free of secrets. */
export interface ProviderFailure {
  kind: ProviderFailureKind;
  /** The served entity's name, for messages. */
  entity: string;
  /** The HTTP status, when the failure came as one (not as an error event mid-stream). */
  status?: number | undefined;
  /** The provider's own explanation; shown to the caller only for `input`. */
  message?: string | undefined;
  /** Seconds to wait, as the provider asked, for `throttled` and `unavailable`. */
  retryAfter?: string | undefined;
  cause: Error;
}

/** A provider's error answer, kept as the cause of the `AppError` it became (logged, never shown). */
export class ProviderResponseError extends Error {
  readonly status: number | undefined;
  constructor(status: number | undefined, body: string) {
    super(status === undefined ? `provider error: ${body}` : `provider answered ${status}: ${body}`);
    this.name = 'ProviderResponseError';
    this.status = status;
  }
}

/** The common reading of an HTTP status from an OpenAI-style provider. */
export function classifyHttpStatus(status: number): ProviderFailureKind {
  if (status === 400 || status === 413 || status === 422) return 'input';
  if (status === 401 || status === 403) return 'credentials';
  if (status === 429) return 'throttled';
  if (status === 503) return 'unavailable';
  if (status >= 500) return 'failed';
  // 404 (unknown model or path), 405, 409, ...: what we sent was wrong, which is our configuration.
  return 'refused';
}

/** Turns a classified provider failure into the `AppError` the model backend contract promises. */
export function providerFailureError(failure: ProviderFailure): AppError {
  const { entity, cause } = failure;
  const status = failure.status === undefined ? '' : ` (status ${failure.status})`;
  const retryAfter: Record<string, string> = failure.retryAfter === undefined ? {} : { 'retry-after': failure.retryAfter };
  switch (failure.kind) {
    case 'input': {
      // The provider's words are what the caller needs to fix the request.
      const detail = failure.message ? `: ${failure.message}` : '';
      return new ModelInputError(`The model rejected the input${status}${detail}`, { cause });
    }
    case 'credentials':
      return new BadGatewayError('BACKEND_REFUSED', `The provider behind ${entity} refused modelgate's credentials${status}`, { cause });
    case 'refused':
      return new BadGatewayError('BACKEND_REFUSED', `The provider behind ${entity} refused the call${status}`, { cause });
    case 'throttled':
      return new ServiceUnavailableError('BACKEND_THROTTLED', `Served entity ${entity} is at capacity; retry later`, {
        cause,
        headers: retryAfter,
      });
    case 'unavailable':
      return new ServiceUnavailableError('BACKEND_UNAVAILABLE', `Served entity ${entity} is unavailable`, { cause, headers: retryAfter });
    case 'failed':
      return new BadGatewayError('MODEL_ERROR', `The model behind ${entity} failed${status}`, { cause });
  }
}

/**
 * The wait a provider asked for, in whole seconds: `retry-after-ms` (OpenAI), `retry-after` as
 * seconds or as an HTTP date. Undefined when it asked for none or said something unreadable.
 */
export function retryAfterSeconds(header: (name: string) => string | null | undefined, now: number = Date.now()): string | undefined {
  const milliseconds = Number(header('retry-after-ms') ?? Number.NaN);
  if (Number.isFinite(milliseconds) && milliseconds >= 0) return String(Math.ceil(milliseconds / 1000));
  const value = header('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return String(Math.ceil(Number(value)));
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return String(Math.max(0, Math.ceil((date - now) / 1000)));
}

/** Longest provider message we repeat to a caller. */
const maxMessageLength = 500;

/** A provider's message made safe to repeat: the key removed wherever it was echoed, then bounded. */
export function safeProviderText(text: string, secret: string | undefined, limit = maxMessageLength): string {
  const redacted = secret ? text.split(secret).join('[redacted]') : text;
  const trimmed = redacted.trim();
  return trimmed.length > limit ? `${trimmed.slice(0, limit)}…` : trimmed;
}
