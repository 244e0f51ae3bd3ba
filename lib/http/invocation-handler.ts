import middy from '@middy/core';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { newRequestId } from './request-id';
import { serveInvocation, type InvocationDeps, type InvocationSurface, type SettledInvocation } from '../core/serve-invocation';
import { invocationRequestFromEvent, streamingResult, type StreamingResult } from './api-gateway-event';
import { logOutcome } from './log-outcome';
import { logger } from './logger';
import { metrics, recordInvocationMetrics } from './metrics';
import { annotateInvocation } from './tracer';
import { apiMiddlewares } from './api-middlewares';
import { streamingHandler } from './response-streaming';

/**
 * The Lambda handler for an invocation surface: middy with Powertools logging and metrics, our
 * last-resort JSON errors, and response streaming (`streamingHandler`), so `stream: true` reaches
 * the caller as Server-Sent Events through API Gateway's STREAM transfer mode. JSON answers are
 * written as one piece.
 */
export function invocationHandler(deps: InvocationDeps, surfaceOf: (event: APIGatewayProxyEvent) => InvocationSurface) {
  async function serve(event: APIGatewayProxyEvent): Promise<StreamingResult> {
    const startedAt = performance.now();
    const requestId = newRequestId();
    logger.appendKeys({ requestId });
    const outcome = await serveInvocation(
      invocationRequestFromEvent(event, surfaceOf(event), { requestId, receivedAt: new Date(), startedAt }),
      deps,
    );
    const record = (settled: SettledInvocation): void => {
      const endpointExists = deps.endpoints.get(settled.audit.endpoint) !== undefined;
      logOutcome(logger, settled);
      recordInvocationMetrics(settled, endpointExists);
      annotateInvocation(settled, endpointExists);
    };
    if (outcome.body instanceof Uint8Array) {
      record(await outcome.settled);
    } else {
      // A stream settles after logMetrics' `after` phase has run: its metrics are flushed here.
      void outcome.settled.then((settled) => {
        record(settled);
        metrics.publishStoredMetrics();
      });
    }
    return streamingResult(outcome, requestId);
  }

  return streamingHandler(middy<APIGatewayProxyEvent, StreamingResult>().use(apiMiddlewares()).handler(serve));
}
