import type { AppError } from '../../core/errors';
import {
  classifyHttpStatus,
  providerFailureError,
  ProviderResponseError,
  retryAfterSeconds,
  safeProviderText,
  type ProviderFailureKind,
} from '../provider-http/provider-failure';
import { readErrorBody, type ProviderAnswer, type ProviderCallContext } from '../provider-http/provider-fetch';

/**
 * Translates an OpenAI-compatible server's error answer (any non-2xx) into our error. The status
 * decides (see `classifyHttpStatus`); the server's message is repeated only for input errors,
 * bounded and with the API key removed should the server echo it.
 */
export async function openAiErrorFrom(response: ProviderAnswer, context: ProviderCallContext, apiKey: string | undefined): Promise<AppError> {
  const text = await readErrorBody(response);
  const payload = parseOrUndefined(text);
  return providerFailureError({
    kind: quotaExhausted(payload) ? 'refused' : classifyHttpStatus(response.status),
    entity: context.entity,
    status: response.status,
    // A page from a proxy in front of the server (nginx, a load balancer) describes our
    // infrastructure, not the caller's input: only plain text is repeated.
    message: openAiErrorMessage(payload, apiKey) ?? (text.trim() && !looksLikeMarkup(text) ? safeProviderText(text, apiKey) : undefined),
    retryAfter: retryAfterSeconds((name) => response.header(name)),
    cause: new ProviderResponseError(response.status, safeProviderText(text, apiKey, 2_000)),
  });
}

/**
 * An error reported inside a stream (OpenAI and vLLM send `data: {"error": {...}}` when a
 * generation fails after the headers went out); undefined when the payload is not one.
 */
export function openAiStreamError(payload: unknown, context: ProviderCallContext, apiKey: string | undefined): AppError | undefined {
  if (!isRecord(payload)) return undefined;
  const error = payload.error ?? (payload.object === 'error' ? payload : undefined);
  if (error === undefined || error === null) return undefined;
  const details = isRecord(error) ? error : {};
  const status = typeof details.code === 'number' ? details.code : undefined;
  return providerFailureError({
    kind: status === undefined ? classifyErrorType(details) : classifyHttpStatus(status),
    entity: context.entity,
    status,
    message: openAiErrorMessage(payload, apiKey),
    cause: new ProviderResponseError(status, safeProviderText(JSON.stringify(payload), apiKey, 2_000)),
  });
}

/** OpenAI and vLLM: `{"error": {"message"}}`; vLLM also `{"message"}`; TGI: `{"error": "text"}`. */
function openAiErrorMessage(payload: unknown, apiKey: string | undefined): string | undefined {
  if (!isRecord(payload)) return undefined;
  const { error } = payload;
  const message = isRecord(error) ? error.message : typeof error === 'string' ? error : payload.message;
  return typeof message === 'string' && message.trim() !== '' ? safeProviderText(message, apiKey) : undefined;
}

/**
 * OpenAI answers 429 `insufficient_quota` when our account is out of credit: no wait cures that,
 * unlike a rate limit, so it is a refusal of our call, not throttling.
 */
function quotaExhausted(payload: unknown): boolean {
  const error = isRecord(payload) ? payload.error : undefined;
  return isRecord(error) && (error.code === 'insufficient_quota' || error.type === 'insufficient_quota');
}

function looksLikeMarkup(text: string): boolean {
  return /<\/?[a-z!][^>]*>/i.test(text);
}

/** Mid-stream errors carry no status; their `type` or string `code` says what happened. */
function classifyErrorType(details: Record<string, unknown>): ProviderFailureKind {
  const label = `${String(details.type ?? '')} ${String(details.code ?? '')}`.toLowerCase();
  if (label.includes('insufficient_quota')) return 'refused';
  if (label.includes('rate_limit') || label.includes('overloaded')) return 'throttled';
  if (label.includes('invalid_request')) return 'input';
  return 'failed';
}

function parseOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
