/** OpenAI's error body: `{"error": {"message", "type", "param", "code"}}`. */
export interface OpenAiErrorBody {
  readonly error: {
    readonly message: string;
    readonly type: string;
    readonly param: string | null;
    readonly code: string | null;
  };
}

/** An error answer: the HTTP status and OpenAI's body for it. */
export interface OpenAiErrorReply {
  readonly status: number;
  readonly body: OpenAiErrorBody;
}

function openAiError(status: number, type: string, message: string, param: string | null = null, code: string | null = null): OpenAiErrorReply {
  return { status, body: { error: { message, type, param, code } } };
}

/** 400: the request breaks the API's rules (a missing or invalid parameter, unparsable JSON). */
export function invalidRequestError(message: string, param: string | null = null, code: string | null = null): OpenAiErrorReply {
  return openAiError(400, 'invalid_request_error', message, param, code);
}

/** 401: no key, or the wrong one. */
export function authenticationError(sentKey: string | undefined): OpenAiErrorReply {
  if (sentKey === undefined) {
    return openAiError(
      401,
      'invalid_request_error',
      "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
    );
  }
  // OpenAI shows only the key's first and last characters.
  const shown = sentKey.length > 8 ? `${sentKey.slice(0, 3)}*****${sentKey.slice(-4)}` : '*****';
  return openAiError(401, 'invalid_request_error', `Incorrect API key provided: ${shown}.`, null, 'invalid_api_key');
}

/** 404: no model of that name. */
export function modelNotFoundError(model: string): OpenAiErrorReply {
  return openAiError(404, 'invalid_request_error', `The model \`${model}\` does not exist or you do not have access to it.`, null, 'model_not_found');
}

/** 404: no route for that method and path. */
export function invalidUrlError(method: string, path: string): OpenAiErrorReply {
  return openAiError(404, 'invalid_request_error', `Invalid URL (${method} ${path})`);
}

/** 413: the body is larger than the server reads. */
export function requestTooLargeError(limit: number): OpenAiErrorReply {
  return openAiError(413, 'invalid_request_error', `Request body too large; the limit is ${limit} bytes.`);
}

/** 429: over the rate limit. */
export function rateLimitError(model: string): OpenAiErrorReply {
  return openAiError(
    429,
    'requests',
    `Rate limit reached for ${model} on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again later.`,
    null,
    'rate_limit_exceeded',
  );
}

/** 500: the server failed. */
export function serverError(): OpenAiErrorReply {
  return openAiError(500, 'server_error', 'The server had an error while processing your request. Sorry about that!');
}

/** 503: the server cannot take the request now. */
export function overloadedError(): OpenAiErrorReply {
  return openAiError(503, 'server_error', 'The engine is currently overloaded, please try again later.');
}

/** 400 from the model itself: the prompt does not fit its context window. */
export function contextLengthError(): OpenAiErrorReply {
  return openAiError(
    400,
    'invalid_request_error',
    "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens. Please reduce the length of the messages.",
    'messages',
    'context_length_exceeded',
  );
}
