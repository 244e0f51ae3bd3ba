import middy from '@middy/core';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { newRequestId } from './request-id';
import { InternalError } from '../core/errors';
import { serveInvocation, type InvocationDeps, type InvocationSurface, type SettledInvocation } from '../core/serve-invocation';
import { eventStreamResult, invocationRequestFromEvent, streamingResult, type StreamingResult } from './api-gateway-event';
import { logOutcome } from './log-outcome';
import { logger } from './logger';
import { publishInvocationMetrics } from './metrics';
import { writeInvocationLine, type InvocationLineContext } from './invocation-line';
import { annotateInvocation } from './tracer';
import { apiMiddlewares } from './api-middlewares';
import { sendEventStream, streamingHandler } from './response-streaming';

/**
 * The Lambda handler for an invocation surface: middy with Powertools logging and metrics (a
 * served request's log entry and metrics written as one line, `writeInvocationLine`), our
 * last-resort JSON errors, and response streaming (`streamingHandler`), so `stream: true` reaches
 * the caller as Server-Sent Events through API Gateway's STREAM transfer mode. JSON answers are
 * written as one piece after middy is done; a stream is sent from inside the handler, which
 * returns once it has settled (its audit record handed off, even when the caller left early).
 */
export function invocationHandler(deps: InvocationDeps, surfaceOf: (event: APIGatewayProxyEvent) => InvocationSurface) {
  let invocations = 0;

  function record(settled: SettledInvocation, invocation: Omit<InvocationLineContext, 'endpointExists'>): void {
    const endpointExists = deps.endpoints.get(settled.audit.endpoint) !== undefined;
    if (settled.statusCode < 500 && settled.handoffError === undefined && settled.limitsSettleError === undefined) {
      writeInvocationLine(settled, { ...invocation, endpointExists });
    } else {
      logOutcome(logger, settled);
      publishInvocationMetrics(settled, endpointExists);
    }
    annotateInvocation(settled, endpointExists);
  }

  async function serve(event: APIGatewayProxyEvent, context: Context): Promise<StreamingResult | undefined> {
    const startedAt = performance.now();
    const coldStart = invocations++ === 0;
    const requestId = newRequestId();
    logger.appendKeys({ requestId });
    const outcome = await serveInvocation(
      invocationRequestFromEvent(event, surfaceOf(event), { requestId, receivedAt: new Date(), startedAt }),
      deps,
    );
    const { body } = outcome;
    if (body instanceof Uint8Array) {
      record(await outcome.settled, { context, requestId, coldStart });
      return streamingResult(outcome, body, requestId);
    }
    const events = eventStreamResult(outcome, body, requestId);
    try {
      await sendEventStream(context, events);
    } catch (error) {
      // The caller left or the connection broke: nothing more can reach them. Stopping the events
      // (the pipeline may not have yet) settles the outcome as cut short (499), audited and
      // logged below like any other.
      events.body.destroy();
      if (error instanceof InternalError) logger.error('The event stream could not be sent', { error });
    }
    record(await outcome.settled, { context, requestId, coldStart });
    return undefined;
  }

  return streamingHandler(middy<APIGatewayProxyEvent, StreamingResult | undefined>().use(apiMiddlewares({ publishMetrics: false })).handler(serve));
}
