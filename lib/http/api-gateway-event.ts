import { Readable } from 'node:stream';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { newRequestId } from './request-id';
import { errorResponse } from '../core/error-response';
import type { AppError } from '../core/errors';
import type { InvocationOutcome, InvocationRequest, InvocationSurface } from '../core/serve-invocation';

/**
 * Reads an API Gateway (REST, payload v1) proxy event into our request shape. Headers are
 * expected lower-cased (http-header-normalizer runs first).
 */
export function invocationRequestFromEvent(
  event: APIGatewayProxyEvent,
  surface: InvocationSurface,
  ids: { requestId: string; receivedAt: Date; startedAt: number },
): InvocationRequest {
  const headers = event.headers ?? {};
  const raw = event.body ?? '';
  return {
    ...ids,
    surface,
    endpointName: event.pathParameters?.name,
    authorization: headers.authorization,
    contentType: headers['content-type'],
    body: Buffer.from(raw, event.isBase64Encoded ? 'base64' : 'utf8'),
    clientIp: event.requestContext?.identity?.sourceIp ?? undefined,
    userAgent: headers['user-agent'],
  };
}

/**
 * A JSON answer as a streaming handler returns it (`streamingHandler`): the status and headers go
 * first, then the text in one write.
 */
export interface StreamingResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** Server-Sent Events as the handler sends them itself (`sendEventStream`), produced as the model streams. */
export interface EventStreamResult {
  statusCode: number;
  headers: Record<string, string>;
  body: Readable;
}

/** Our JSON outcome as a streaming handler returns it, with the request id on every answer. */
export function streamingResult(outcome: InvocationOutcome, body: Uint8Array, requestId: string): StreamingResult {
  return { statusCode: outcome.statusCode, headers: answerHeaders(outcome, requestId), body: Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8') };
}

/** Our streamed outcome as Server-Sent Events, with the request id on every answer. */
export function eventStreamResult(outcome: InvocationOutcome, body: AsyncIterable<Uint8Array>, requestId: string): EventStreamResult {
  return { statusCode: outcome.statusCode, headers: answerHeaders(outcome, requestId), body: Readable.from(body, { objectMode: false }) };
}

function answerHeaders(outcome: InvocationOutcome, requestId: string): Record<string, string> {
  return { 'content-type': 'application/json', ...outcome.headers, 'x-request-id': requestId };
}

/** Our JSON answer as a buffered API Gateway proxy result, with the request id on every answer. */
export function apiGatewayResult(outcome: { statusCode: number; headers: Record<string, string>; body: Uint8Array }, requestId: string): APIGatewayProxyResult {
  const body = outcome.body;
  return {
    statusCode: outcome.statusCode,
    headers: { ...outcome.headers, 'content-type': 'application/json', 'x-request-id': requestId },
    body: Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'),
  };
}

/** An error as API Gateway expects it: our JSON error body, under a fresh request id. */
export function apiGatewayErrorResult(error: AppError): APIGatewayProxyResult {
  const requestId = newRequestId();
  return apiGatewayResult(errorResponse(error, requestId), requestId);
}
