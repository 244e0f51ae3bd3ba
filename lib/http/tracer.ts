import type { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import type { MiddlewareObj } from '@middy/core';
import { isTracingWanted } from '../config/tracing';
import type { SettledInvocation } from '../core/serve-invocation';

/**
 * X-Ray tracing shared by every entry point and the AWS clients, with Powertools' own settings:
 * off outside Lambda (no `AWS_EXECUTION_ENV`) and wherever `POWERTOOLS_TRACE_ENABLED=false` (the
 * local stack, the tests), so nothing there looks for an X-Ray daemon.
 *
 * Where tracing is off, the Tracer is not even loaded: the X-Ray SDK under it creates a cls-hooked
 * namespace at import, an async hook whose destroy callback makes Node track every promise; not
 * loading it measured ×0.91 (0.65–1.20) on the invocation handler's CPU over four rounds
 * (`npm run bench:hot-path`, BENCHMARKS.md): a removed async hook, inside that run's noise.
 */
const tracer: Tracer | undefined = isTracingWanted() ? new (await import('@aws-lambda-powertools/tracer')).Tracer() : undefined;

/** Whether requests are traced in this container (Powertools may still turn it off, e.g. under SAM local). */
export function isTracingEnabled(): boolean {
  return tracer?.isTracingEnabled() ?? false;
}

/** An AWS SDK client whose calls become X-Ray subsegments where tracing is on; elsewhere the client as made. */
export function traced<Client>(client: Client): Client {
  return tracer === undefined ? client : tracer.captureAWSv3Client(client);
}

/**
 * The handler's segment where tracing is on; elsewhere no middleware at all (middy's `use` takes
 * a list). Responses are model outputs: they belong in the audit log, never in trace metadata.
 */
export function tracingMiddleware(): MiddlewareObj[] {
  return tracer === undefined ? [] : [captureLambdaHandler(tracer, { captureResponse: false })];
}

/**
 * Annotations to find a request's trace by (X-Ray indexes annotations, not metadata). As with
 * metrics, a caller-chosen endpoint name that does not exist is never written.
 */
export function annotateInvocation(outcome: SettledInvocation, endpointExists: boolean): void {
  if (tracer === undefined) return;
  tracer.putAnnotation('endpoint', endpointExists ? outcome.audit.endpoint : '(unknown)');
  tracer.putAnnotation('servedEntity', outcome.audit.servedEntity ?? '(none)');
  tracer.putAnnotation('status', outcome.statusCode);
}
