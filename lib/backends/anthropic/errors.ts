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
import { messagesErrorSchema } from './messages-api';

/** Anthropic's error types (https://docs.anthropic.com/en/api/errors) in our words. */
const ERROR_KINDS: Readonly<Record<string, ProviderFailureKind>> = {
  invalid_request_error: 'input',
  request_too_large: 'input',
  authentication_error: 'credentials',
  permission_error: 'credentials',
  not_found_error: 'refused',
  rate_limit_error: 'throttled',
  overloaded_error: 'throttled',
  api_error: 'failed',
};

/** Anthropic's own status for "overloaded", which is throttling, not a failure. */
const OVERLOADED = 529;

/** An error answer (any non-2xx) from the Messages API as our error. */
export async function anthropicErrorFrom(response: ProviderAnswer, context: ProviderCallContext, apiKey: string): Promise<AppError> {
  const text = await readErrorBody(response);
  const body = errorBody(text);
  const byType = body === undefined ? undefined : errorKind(body.error.type);
  return providerFailureError({
    kind: byType ?? (response.status === OVERLOADED ? 'throttled' : classifyHttpStatus(response.status)),
    entity: context.entity,
    status: response.status,
    message: errorMessage(body, apiKey),
    retryAfter: retryAfterSeconds((name) => response.header(name)),
    cause: new ProviderResponseError(response.status, safeProviderText(text, apiKey, 2_000)),
  });
}

/** An `error` event in a stream (e.g. `overloaded_error` after the answer began) as our error. */
export function anthropicErrorEvent(
  event: { error: { type: string; message?: string | undefined } },
  context: ProviderCallContext,
  apiKey: string,
): AppError {
  return providerFailureError({
    kind: errorKind(event.error.type) ?? 'failed',
    entity: context.entity,
    message: errorMessage(event, apiKey),
    cause: new ProviderResponseError(undefined, safeProviderText(JSON.stringify(event), apiKey, 2_000)),
  });
}

function errorBody(text: string) {
  try {
    const parsed = messagesErrorSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function errorMessage(body: { error: { message?: string | undefined } } | undefined, apiKey: string): string | undefined {
  const message = body?.error.message;
  return message ? safeProviderText(message, apiKey) : undefined;
}

/** The kind Anthropic's error type names, if it is one we know (own members only: the type is the provider's text). */
function errorKind(type: string): ProviderFailureKind | undefined {
  return Object.hasOwn(ERROR_KINDS, type) ? ERROR_KINDS[type] : undefined;
}
