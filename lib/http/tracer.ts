import { Tracer } from '@aws-lambda-powertools/tracer';
import type { SettledInvocation } from '../core/serve-invocation';

/**
 * X-Ray tracing shared by every entry point and the AWS clients. Settings come from Powertools'
 * own variables: tracing is off outside Lambda (no `AWS_EXECUTION_ENV`) and wherever
 * `POWERTOOLS_TRACE_ENABLED=false` (the local stack, the tests), so nothing there looks for an
 * X-Ray daemon.
 */
export const tracer = new Tracer();

/**
 * Annotations to find a request's trace by (X-Ray indexes annotations, not metadata). As with
 * metrics, a caller-chosen endpoint name that does not exist is never written.
 */
export function annotateInvocation(outcome: SettledInvocation, endpointExists: boolean): void {
  tracer.putAnnotation('endpoint', endpointExists ? outcome.audit.endpoint : '(unknown)');
  tracer.putAnnotation('servedEntity', outcome.audit.servedEntity ?? '(none)');
  tracer.putAnnotation('status', outcome.statusCode);
}
