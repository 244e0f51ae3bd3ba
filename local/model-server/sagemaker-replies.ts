import type { ContainerReply } from './scoring-container';

/** An HTTP reply as SageMaker Runtime's front end sends it. */
export interface SageMakerReply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** The account every local endpoint pretends to live in. */
export const localAccountId = '000000000000';
/** The region every local endpoint pretends to live in. */
export const localRegion = 'us-east-1';
/** The name SageMaker gives the container it relays errors from. */
const containerHostName = 'primary';

const jsonContentType = 'application/json';

/** The invocation succeeded: the container's body, and the variant that served it. */
export function invocationReply(container: ContainerReply, variant: string): SageMakerReply {
  return {
    status: 200,
    headers: { 'Content-Type': container.contentType ?? jsonContentType, 'x-Amzn-Invoked-Production-Variant': variant },
    body: container.body,
  };
}

/**
 * The container answered with an error: SageMaker answers 424 `ModelError`, keeping the
 * container's status and body as `OriginalStatusCode` and `OriginalMessage`.
 */
export function modelErrorReply(endpoint: string, container: ContainerReply): SageMakerReply {
  const logGroup = `/aws/sagemaker/Endpoints/${endpoint}`;
  const side = container.status < 500 ? 'client' : 'server';
  const logsUrl =
    `https://${localRegion}.console.aws.amazon.com/cloudwatch/home?region=${localRegion}` +
    `#logEventViewer:group=${logGroup}`;
  return errorReply(424, 'ModelError:http://internal.amazon.com/coral/com.amazon.sagemaker/', {
    message:
      `Received ${side} error (${container.status}) from ${containerHostName} with message "${container.body}". ` +
      `See ${logsUrl} in account ${localAccountId} for more information.`,
    OriginalStatusCode: container.status,
    OriginalMessage: container.body,
    LogStreamArn: `arn:aws:logs:${localRegion}:${localAccountId}:log-group:${logGroup}`,
  });
}

/** The endpoint's request rate is over its limit. */
export function throttlingReply(): SageMakerReply {
  return errorReply(400, 'ThrottlingException', { message: 'Rate exceeded' });
}

/** The endpoint exists but its model is still loading. */
export function modelNotReadyReply(endpoint: string): SageMakerReply {
  return errorReply(429, 'ModelNotReadyException', {
    message: `Model for endpoint ${endpoint} of account ${localAccountId} is not ready to serve requests. Retry the request later.`,
  });
}

/** SageMaker itself cannot take the request right now. */
export function serviceUnavailableReply(): SageMakerReply {
  return errorReply(503, 'ServiceUnavailable', { message: 'The service is unavailable. Try the request again.' });
}

/** No endpoint of that name exists in the account. */
export function endpointNotFoundReply(endpoint: string): SageMakerReply {
  return validationErrorReply(`Endpoint ${endpoint} of account ${localAccountId} not found.`);
}

/** The request body is over InvokeEndpoint's payload limit. */
export function payloadTooLargeReply(size: number, limit: number): SageMakerReply {
  return validationErrorReply(
    `Request payload of ${size} bytes exceeds the maximum InvokeEndpoint payload size of ${limit} bytes (6 MB).`,
  );
}

/** The request breaks one of InvokeEndpoint's own rules. */
export function validationErrorReply(message: string): SageMakerReply {
  return errorReply(400, 'ValidationError', { message });
}

/** No operation is bound to that method and path. */
export function unknownOperationReply(): SageMakerReply {
  return errorReply(404, 'UnknownOperationException', { message: 'Unknown operation' });
}

/** The local server itself failed; SageMaker's equivalent is a 500 `InternalFailure`. */
export function internalFailureReply(): SageMakerReply {
  return errorReply(500, 'InternalFailure', { message: 'An internal error occurred while processing the request.' });
}

/** A restJson1 error: the SDK picks the error class by `X-Amzn-ErrorType` (text before any ':'). */
function errorReply(status: number, errorType: string, body: Record<string, unknown>): SageMakerReply {
  return {
    status,
    headers: { 'Content-Type': jsonContentType, 'X-Amzn-ErrorType': errorType },
    body: JSON.stringify(body),
  };
}
