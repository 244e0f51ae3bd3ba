import { parseMlflowInput } from './mlflow-input';
import { ModelInputError } from './model-input-error';
import type { ServedModel } from './models/served-model';

/** What the model container answered, before SageMaker wraps it. */
export interface ContainerReply {
  readonly status: number;
  /** The container's response body, verbatim; SageMaker relays it as `OriginalMessage` on errors. */
  readonly body: string;
  /** The body's media type; `application/json` when absent. */
  readonly contentType?: string;
}

/**
 * Plays the model container behind a SageMaker endpoint, as an MLflow scoring server would:
 * JSON in, `{"predictions": [...]}` out, the model's own 4xx when the input does not fit, and
 * a 500 when the model itself throws.
 */
export function invokeScoringContainer(
  model: ServedModel,
  body: Buffer,
  contentType: string | undefined,
): ContainerReply {
  if (!isJsonContentType(contentType)) {
    return errorReply(
      new ModelInputError(
        `This predictor only supports the content type 'application/json'. Got '${contentType ?? ''}'.`,
        { statusCode: 415 },
      ),
    );
  }
  let payload: unknown;
  try {
    payload = JSON.parse(body.toString('utf8'));
  } catch {
    return errorReply(
      new ModelInputError('Failed to parse input from JSON. Ensure that input is a valid JSON formatted string.', {
        errorCode: 'MALFORMED_REQUEST',
      }),
    );
  }
  try {
    const predictions = model.predict(parseMlflowInput(payload));
    return { status: 200, body: JSON.stringify({ predictions }) };
  } catch (error) {
    if (error instanceof ModelInputError) return errorReply(error);
    const message = error instanceof Error ? error.message : String(error);
    return {
      status: 500,
      body: JSON.stringify({
        error_code: 'INTERNAL_ERROR',
        message: `Encountered an unexpected error while evaluating the model: ${message}`,
      }),
    };
  }
}

function errorReply(error: ModelInputError): ContainerReply {
  return { status: error.statusCode, body: JSON.stringify({ error_code: error.errorCode, message: error.message }) };
}

function isJsonContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const mediaType = contentType.split(';', 1)[0]?.trim().toLowerCase();
  return mediaType === 'application/json';
}
