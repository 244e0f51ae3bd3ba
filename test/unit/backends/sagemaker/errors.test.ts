import {
  InternalFailure,
  InternalStreamFailure,
  ModelError,
  ModelStreamError,
  ModelNotReadyException,
  SageMakerRuntimeServiceException,
  ServiceUnavailable,
  ValidationError,
} from '@aws-sdk/client-sagemaker-runtime';
import { describe, expect, it } from 'vitest';
import { MalformedStreamError } from '../../../../lib/backends/provider-http/server-sent-events';
import { translateSageMakerError } from '../../../../lib/backends/sagemaker/errors';
import { isRetriable } from '../../../../lib/core/route-request';
import type { SageMakerEntity } from '../../../../lib/core/endpoint-config';

const entity: SageMakerEntity = { name: 'iris-v1', backend: 'sagemaker', endpointName: 'iris-prod', weight: 100, fallbacks: [] };
const live = { entity, signal: new AbortController().signal };
const meta = (httpStatusCode: number) => ({ $metadata: { httpStatusCode }, message: 'x' });
/** What @smithy/node-http-handler rejects with when a timeout of its own fires. */
const handlerTimeout = (message: string) => Object.assign(new Error(`@smithy/node-http-handler - ${message}`), { name: 'TimeoutError' });

describe('translateSageMakerError', () => {
  it('turns the model\'s own 4xx into a 400 carrying the model\'s message', () => {
    // Prepare
    const error = new ModelError({ ...meta(424), OriginalStatusCode: 422, OriginalMessage: '{"message":"column petal_width is missing"}' });
    // Act
    const translated = translateSageMakerError(error, live);
    // Assess
    expect(translated.statusCode).toBe(400);
    expect(translated.code).toBe('MODEL_REJECTED_INPUT');
    expect(translated.message).toContain('column petal_width is missing');
  });

  it('turns the model\'s own 5xx into a 502 that does not repeat the model\'s text', () => {
    const error = new ModelError({ ...meta(424), OriginalStatusCode: 500, OriginalMessage: 'Traceback (most recent call last)' });
    const translated = translateSageMakerError(error, live);
    expect(translated.statusCode).toBe(502);
    expect(translated.message).not.toContain('Traceback');
  });

  it('turns the container\'s 429 (overloaded) into a retriable 503 with retry-after, as SageMaker\'s own throttling', () => {
    // Prepare
    const error = new ModelError({ ...meta(424), OriginalStatusCode: 429, OriginalMessage: '{"error":"Model is overloaded","error_type":"overloaded"}' });
    // Act
    const translated = translateSageMakerError(error, live);
    // Assess
    expect([translated.statusCode, translated.code]).toEqual([503, 'BACKEND_THROTTLED']);
    expect(translated.headers).toEqual({ 'retry-after': '1' });
    expect(isRetriable(translated)).toBe(true);
  });

  it('turns the container\'s 408 into a retriable 502, as its 5xx, not the caller\'s fault', () => {
    // Prepare
    const error = new ModelError({ ...meta(424), OriginalStatusCode: 408, OriginalMessage: 'Request Timeout' });
    // Act
    const translated = translateSageMakerError(error, live);
    // Assess
    expect([translated.statusCode, translated.code]).toEqual([502, 'MODEL_ERROR']);
    expect(isRetriable(translated)).toBe(true);
  });

  it.each([
    ['ThrottlingException', new SageMakerRuntimeServiceException({ name: 'ThrottlingException', $fault: 'client', ...meta(400) }), 503, 'BACKEND_THROTTLED'],
    ['ModelNotReadyException', new ModelNotReadyException(meta(429)), 503, 'BACKEND_THROTTLED'],
    ['ServiceUnavailable', new ServiceUnavailable(meta(503)), 503, 'BACKEND_UNAVAILABLE'],
    ['InternalFailure', new InternalFailure(meta(500)), 503, 'BACKEND_UNAVAILABLE'],
    ['ValidationError (unknown endpoint)', new ValidationError(meta(400)), 502, 'BACKEND_REFUSED'],
    ['ModelStreamError (the model failed mid-stream)', new ModelStreamError(meta(200)), 502, 'MODEL_ERROR'],
    ['InternalStreamFailure', new InternalStreamFailure(meta(200)), 503, 'BACKEND_UNAVAILABLE'],
  ])('maps %s to %i %s', (_name, error, status, code) => {
    const translated = translateSageMakerError(error, live);
    expect([translated.statusCode, translated.code]).toEqual([status, code]);
  });

  it('maps a refused connection to 503', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8081'), { code: 'ECONNREFUSED' });
    expect(translateSageMakerError(refused, live).code).toBe('BACKEND_UNAVAILABLE');
  });

  it('maps a connect timeout, where the request never reached the model, to a retriable 503', () => {
    // Prepare
    const error = handlerTimeout('the request socket did not establish a connection with the server within the configured timeout of 2000 ms.');
    // Act
    const translated = translateSageMakerError(error, live);
    // Assess
    expect([translated.statusCode, translated.code]).toEqual([503, 'BACKEND_UNAVAILABLE']);
    expect(isRetriable(translated)).toBe(true);
  });

  it('keeps a socket that went quiet after connecting (a slow model) a 504', () => {
    // Prepare
    const error = handlerTimeout('the request socket timed out after 120000 ms of inactivity (service default socket timeout).');
    // Act
    const translated = translateSageMakerError(error, live);
    // Assess
    expect([translated.statusCode, translated.code]).toEqual([504, 'BACKEND_TIMEOUT']);
  });

  it('keeps a connect timeout that fires after our own deadline a 504', () => {
    // Prepare
    const controller = new AbortController();
    controller.abort();
    const error = handlerTimeout('the request socket did not establish a connection with the server within the configured timeout of 2000 ms.');
    // Act
    const translated = translateSageMakerError(error, { entity, signal: controller.signal });
    // Assess
    expect([translated.statusCode, translated.code]).toEqual([504, 'BACKEND_TIMEOUT']);
  });

  it('maps a malformed event stream to 502 BAD_BACKEND_RESPONSE', () => {
    const translated = translateSageMakerError(new MalformedStreamError('server-sent event over 1048576 characters'), live);
    expect([translated.statusCode, translated.code]).toEqual([502, 'BAD_BACKEND_RESPONSE']);
  });

  it('maps anything that happens after the deadline to 504', () => {
    // Prepare
    const controller = new AbortController();
    controller.abort();
    // Act
    const translated = translateSageMakerError(new Error('Request aborted'), { entity, signal: controller.signal });
    // Assess
    expect(translated.statusCode).toBe(504);
  });

  it('hides anything unexpected behind an opaque 500', () => {
    const translated = translateSageMakerError(new TypeError('cannot read x of undefined'), live);
    expect([translated.statusCode, translated.expose]).toEqual([500, false]);
  });
});
