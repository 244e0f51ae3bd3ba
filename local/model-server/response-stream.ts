import { EventStreamCodec } from '@smithy/core/event-streams';

// The codec only needs UTF-8 for header names and string values.
const codec = new EventStreamCodec(
  (bytes) => Buffer.from(bytes).toString('utf8'),
  (text) => new Uint8Array(Buffer.from(text, 'utf8')),
);

/** The errors SageMaker can send inside an InvokeEndpointWithResponseStream answer. */
export type ResponseStreamException = 'ModelStreamError' | 'InternalStreamFailure';

/**
 * One `PayloadPart` event of an InvokeEndpointWithResponseStream answer, in the
 * `application/vnd.amazon.eventstream` framing SageMaker uses: a part of the container's output,
 * which the SDK hands back as `PayloadPart.Bytes`.
 */
export function payloadPartMessage(bytes: Uint8Array): Uint8Array {
  return codec.encode({
    headers: {
      ':event-type': { type: 'string', value: 'PayloadPart' },
      ':message-type': { type: 'string', value: 'event' },
      ':content-type': { type: 'string', value: 'application/octet-stream' },
    },
    body: bytes,
  });
}

/**
 * An error event that ends a response stream: `ModelStreamError` (the model's stream broke; the
 * SDK throws it with `Message` and `ErrorCode`) or `InternalStreamFailure` (SageMaker's side).
 */
export function streamExceptionMessage(exception: ResponseStreamException, message: string): Uint8Array {
  const body = exception === 'ModelStreamError' ? { Message: message, ErrorCode: 'ModelStreamError' } : { Message: message };
  return codec.encode({
    headers: {
      ':exception-type': { type: 'string', value: exception },
      ':message-type': { type: 'string', value: 'exception' },
      ':content-type': { type: 'string', value: 'application/json' },
    },
    body: new Uint8Array(Buffer.from(JSON.stringify(body), 'utf8')),
  });
}
