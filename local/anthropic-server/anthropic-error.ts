/** Anthropic's error body: `{"type": "error", "error": {"type", "message"}, "request_id"}`. */
export interface AnthropicErrorBody {
  readonly type: 'error';
  readonly error: { readonly type: string; readonly message: string };
}

/** An error answer: the HTTP status and Anthropic's body for it (the server adds `request_id`). */
export interface AnthropicErrorReply {
  readonly status: number;
  readonly body: AnthropicErrorBody;
}

function anthropicError(status: number, type: string, message: string): AnthropicErrorReply {
  return { status, body: { type: 'error', error: { type, message } } };
}

/** 400: the request breaks the API's rules. */
export function invalidRequestError(message: string): AnthropicErrorReply {
  return anthropicError(400, 'invalid_request_error', message);
}

/** 401: no key, or the wrong one. */
export function authenticationError(sentKey: string | undefined): AnthropicErrorReply {
  return anthropicError(401, 'authentication_error', sentKey === undefined ? 'x-api-key header is required' : 'invalid x-api-key');
}

/** 404: no such model or route. */
export function notFoundError(message: string): AnthropicErrorReply {
  return anthropicError(404, 'not_found_error', message);
}

/** 413: the body is larger than the API reads. */
export function requestTooLargeError(): AnthropicErrorReply {
  return anthropicError(413, 'request_too_large', 'Request exceeds the maximum allowed number of bytes.');
}

/** 429: over the rate limit. */
export function rateLimitError(): AnthropicErrorReply {
  return anthropicError(
    429,
    'rate_limit_error',
    'This request would exceed the rate limit for your organization of 50 requests per minute. Please try again later.',
  );
}

/** 500: the API failed. */
export function apiError(): AnthropicErrorReply {
  return anthropicError(500, 'api_error', 'Internal server error');
}

/** 529: the API is temporarily overloaded. */
export function overloadedError(): AnthropicErrorReply {
  return anthropicError(529, 'overloaded_error', 'Overloaded');
}

/** 400 from the model itself: the prompt does not fit its context window. */
export function promptTooLongError(): AnthropicErrorReply {
  return invalidRequestError('prompt is too long: 210000 tokens > 200000 maximum');
}
