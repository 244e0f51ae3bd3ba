import type { Principal } from './api-key';
import { authenticate } from './authenticate';
import { buildAuditRecord, type AuditRecord } from './audit-record';
import { defaultAuditPolicy } from './audit-policy';
import type { EndpointRegistry } from './endpoint-registry';
import type { ServedEntity, ServingEndpoint } from './endpoint-config';
import { AppError, ClientClosedRequestError, GatewayTimeoutError, ServiceUnavailableError, toAppError } from './errors';
import { errorResponse } from './error-response';
import { flagContent } from './guardrails';
import { handOffRecords } from './hand-off-records';
import { resolveInvocation, type InvocationSurface } from './invocation-input';
import { invokeEndpoint, routeDeps, type EndpointCallDeps } from './invoke-endpoint';
import type { Admission, RequestLimiter } from './limits/request-limiter';
import { openModelStream, parseModelInput, wantsStream, type ModelInput, type OpenedStream } from './model-call';
import type { RouteAttempt } from './route-request';
import { routeRequest } from './route-request';
import { redactAuditRecord } from './redact-audit-record';
import { StreamAssembler } from './stream-assembler';
import { usageEventFor, type UsageEvent, type UsageUnits } from './usage-event';
import type { AuditSink } from '../ports/audit-sink';
import type { KeyStore } from '../ports/key-store';
import type { UsageSink } from '../ports/usage-sink';

export type { InvocationSurface } from './invocation-input';

/** A synchronous invocation as the HTTP edge hands it over: typed, but not yet trusted. */
export interface InvocationRequest {
  requestId: string;
  receivedAt: Date;
  /** `performance.now()`-style reading taken when the request arrived. */
  startedAt: number;
  surface: InvocationSurface;
  /** The endpoint named in the path (invocations surface only). */
  endpointName: string | undefined;
  authorization: string | undefined;
  contentType: string | undefined;
  body: Uint8Array;
  clientIp: string | undefined;
  userAgent: string | undefined;
}

/** How a request ended, once it has: what the edge logs and measures. */
export interface SettledInvocation {
  statusCode: number;
  audit: AuditRecord;
  /** Time the caller waited that was not spent in the backends, audit and usage hand-offs included. */
  overheadMs: number;
  /** The failure behind a non-2xx answer (or a broken stream), with its cause, for the log only. */
  error?: AppError;
  /** Set when the audit record or usage event could not be handed off. */
  handoffError?: unknown;
  /** Set when the request's rate-limit reservation could not be settled (it then stays held: the safe side). */
  limitsSettleError?: unknown;
}

/** What goes back to the caller. */
export interface InvocationOutcome {
  statusCode: number;
  headers: Record<string, string>;
  /** JSON bytes, or Server-Sent Event frames produced as the model streams. */
  body: Uint8Array | AsyncIterable<Uint8Array>;
  /** Resolves when the request is over: at once for JSON, after the last frame for a stream. */
  settled: Promise<SettledInvocation>;
}

export interface InvocationDeps extends EndpointCallDeps {
  endpoints: EndpointRegistry;
  keys: KeyStore;
  /** Takes each request's audit record with its usage event riding along. */
  audit: AuditSink;
  /** Only for an endpoint that opted out of fail-closed auditing and whose audit hand-off failed. */
  usage: UsageSink;
  /** Rate limits and budgets shared by every instance; absent: nothing is limited. */
  limits?: RequestLimiter;
}

const encoder = new TextEncoder();

/** What is known about a request as it goes through; everything its audit record needs. */
interface RequestFacts {
  principal?: Principal;
  endpoint?: ServingEndpoint;
  entity?: ServedEntity;
  attempts: RouteAttempt[];
  requestJson?: unknown;
  units?: UsageUnits;
  backendLatencyMs?: number;
  /** What the limit step reserved, settled with the real usage in the hand-off. */
  admission?: Admission;
}

/**
 * Serves one synchronous invocation end to end: authenticate, resolve and authorize the endpoint,
 * validate the body against its task, route it to a served entity (retries, fallbacks, circuit
 * breakers, all inside the endpoint's deadline), check the answer, and hand off the audit record
 * and usage event before answering. Every request, refused or not, is audited; a JSON answer whose
 * audit record or usage event cannot be handed off is withheld (503), and a stream ends with an
 * error event instead of `[DONE]`. Never throws.
 */
export async function serveInvocation(request: InvocationRequest, deps: InvocationDeps): Promise<InvocationOutcome> {
  const facts: RequestFacts = { attempts: [] };
  try {
    facts.principal = await authenticate(request.authorization, deps.keys, request.receivedAt);
    // A refusal of the endpoint named is recorded under it, its audit policy (redaction) applied.
    const { endpoint, json } = resolveInvocation(request, deps.endpoints, facts.principal, {
      parsed: (parsed) => (facts.requestJson = parsed),
      found: (found) => (facts.endpoint = found),
    });
    facts.requestJson = json;
    const input = parseModelInput(endpoint, request.body, json);
    if (input.task === 'custom') facts.units = { kind: 'rows', input: input.rows };
    if (deps.limits) facts.admission = await deps.limits.admit({ principal: facts.principal, endpoint, input, now: request.receivedAt });
    if (wantsStream(input)) return await serveStream(request, deps, facts, endpoint, input);

    const called = await invokeEndpoint(endpoint, input, request.requestId, request.startedAt + endpoint.timeoutMs, deps);
    facts.backendLatencyMs = called.backendLatencyMs;
    facts.attempts = called.attempts;
    if (called.entity) facts.entity = called.entity;
    if (!called.ok) throw called.error;
    facts.units = called.units;
    const headers: Record<string, string> = { 'content-type': 'application/json', 'x-modelgate-served-entity': called.entity.name };
    if (called.units.kind === 'tokens' && called.units.estimated) headers['x-modelgate-usage-estimated'] = 'true';
    // Awaited here, so that a failure of the hand-off itself is answered (and audited) below.
    return await answerAfterHandoff(request, deps, facts, { statusCode: 200, headers, body: called.body, responseJson: called.json });
  } catch (thrown) {
    const error = toAppError(thrown);
    const response = errorResponse(error, request.requestId);
    const headers: Record<string, string> = { ...response.headers, 'content-type': 'application/json' };
    if (facts.entity) headers['x-modelgate-served-entity'] = facts.entity.name;
    return answerAfterHandoff(request, deps, facts, { ...response, headers, responseJson: response.payload, error });
  }
}

interface Answer {
  statusCode: number;
  headers: Record<string, string>;
  body: Uint8Array;
  responseJson: unknown;
  error?: AppError;
}

/** Hands off the audit record and usage event, then answers; withholds a 2xx that was not recorded. */
async function answerAfterHandoff(request: InvocationRequest, deps: InvocationDeps, facts: RequestFacts, answer: Answer): Promise<InvocationOutcome> {
  const { settled, mustWithhold } = await settle(request, deps, facts, answer.statusCode, answer.error, request.body, answer.body, answer.responseJson, false);
  let { statusCode, headers, body } = answer;
  if (mustWithhold && statusCode < 400) {
    // A refusal discloses nothing, so it keeps its status; an answer that cannot be audited is withheld.
    const withheld = auditUnavailable(settled.handoffError);
    const response = errorResponse(withheld, request.requestId);
    ({ statusCode, body } = response);
    headers = { ...response.headers, 'content-type': 'application/json' };
    settled.statusCode = statusCode;
    settled.error = withheld;
  }
  headers['x-modelgate-overhead-ms'] = settled.overheadMs.toFixed(2);
  return { statusCode, headers, body, settled: Promise.resolve(settled) };
}

function auditUnavailable(cause: unknown): ServiceUnavailableError {
  return new ServiceUnavailableError('AUDIT_UNAVAILABLE', 'The request could not be recorded; it was not served', {
    cause,
    headers: { 'retry-after': '1' },
  });
}

/** Builds and hands off the audit record with its usage event (one round trip). */
async function settle(
  request: InvocationRequest,
  deps: InvocationDeps,
  facts: RequestFacts,
  statusCode: number,
  error: AppError | undefined,
  requestBody: Uint8Array,
  responseBody: Uint8Array,
  responseJson: unknown,
  streamed: boolean,
): Promise<{ settled: SettledInvocation; mustWithhold: boolean }> {
  const latencyMs = deps.clock.monotonic() - request.startedAt;
  // The endpoint's redaction policy applies before the record reaches any sink (or the log).
  const auditPolicy = facts.endpoint?.audit ?? defaultAuditPolicy();
  const audit = redactAuditRecord(buildAuditRecord({
    requestId: request.requestId,
    receivedAt: request.receivedAt,
    endpointName: facts.endpoint?.name ?? request.endpointName ?? modelNamed(facts.requestJson) ?? '',
    principal: facts.principal,
    servedEntity: facts.entity?.name,
    status: statusCode,
    error: error && { code: error.code, message: error.expose ? error.message : 'Internal error' },
    latencyMs,
    backendLatencyMs: facts.backendLatencyMs,
    units: facts.units,
    attempts: facts.attempts,
    streamed,
    clientIp: request.clientIp,
    userAgent: request.userAgent,
    requestBody,
    requestJson: facts.requestJson,
    responseBody,
    responseJson,
  }), auditPolicy);
  const usage: UsageEvent = {
    ...usageEventFor(
      audit,
      { units: facts.units ?? nothingConsumed(facts.endpoint), requestBytes: requestBody.byteLength, responseBytes: responseBody.byteLength },
      { endpoint: facts.endpoint?.name },
    ),
    clientIp: request.clientIp ?? null,
    contentFlags: flagContent(facts.endpoint?.guardrails, facts.requestJson),
  };
  // The reservation settles beside the hand-off (same round trip); a failure leaves it held, never lets more through.
  const asServed = { status: statusCode, units: facts.units, servedEntity: audit.servedEntity };
  const limitsSettled = facts.admission && deps.limits
    ? deps.limits.settle(facts.admission, asServed).then(() => undefined, (error: unknown) => error ?? 'settle failed')
    : undefined;
  const handoff = await handOffRecords(deps, audit, usage, { auditRequired: auditPolicy.required, answerAlreadyGiven: streamed });
  const settled: SettledInvocation = { statusCode, audit, overheadMs: 0 };
  if (error) settled.error = error;
  if (handoff.error !== undefined) settled.handoffError = handoff.error;
  let limitsSettleError = await limitsSettled;
  const mustWithhold = handoff.mustWithhold;
  if (mustWithhold && !streamed && limitsSettleError === undefined && facts.admission && deps.limits) {
    // A JSON answer withheld: the caller got none of it and no bill says otherwise, so the budget
    // and token limits take back what the settle beside the hand-off counted. (A stream's relayed
    // tokens reached the caller: they stay counted.)
    limitsSettleError = await deps.limits
      .settle(facts.admission, { ...asServed, units: undefined }, asServed)
      .then(() => undefined, (failure: unknown) => failure ?? 'settle failed');
  }
  if (limitsSettleError !== undefined) settled.limitsSettleError = limitsSettleError;
  // Overhead is everything the caller waited for that was not the models, hand-offs included.
  settled.overheadMs = deps.clock.monotonic() - request.startedAt - (facts.backendLatencyMs ?? 0);
  return { settled, mustWithhold };
}

/** The units of a request that consumed none, in its endpoint's own unit (rows for unknown endpoints). */
function nothingConsumed(endpoint: ServingEndpoint | undefined): UsageUnits {
  return endpoint !== undefined && endpoint.task !== 'custom' ? { kind: 'tokens', input: 0, output: 0, estimated: false } : { kind: 'rows', input: 0 };
}

function modelNamed(json: unknown): string | undefined {
  const model = (json as { model?: unknown } | null | undefined)?.model;
  return typeof model === 'string' ? model.slice(0, 200) : undefined;
}

/**
 * Serves `stream: true`: routes until a served entity yields its first chunk (so failures before the
 * first byte still retry and fall back), then relays Server-Sent Events. A stream that breaks after
 * the first byte ends with an `error` event, never a clean-looking end; `[DONE]` is sent only after
 * the audit record and usage event were handed off.
 */
async function serveStream(
  request: InvocationRequest,
  deps: InvocationDeps,
  facts: RequestFacts,
  endpoint: ServingEndpoint,
  input: ModelInput,
): Promise<InvocationOutcome> {
  const routedAt = deps.clock.monotonic();
  // Each attempt's signal only bounds the wait for the first chunk; the stream then gets its own.
  const routed = await routeRequest(
    endpoint,
    request.requestId,
    request.startedAt + endpoint.timeoutMs,
    async (entity, attemptSignal): Promise<{ opened: OpenedStream; abort: AbortController }> => {
      const abort = new AbortController();
      const forward = (): void => abort.abort(attemptSignal.reason);
      attemptSignal.addEventListener('abort', forward, { once: true });
      try {
        return { opened: await openModelStream(deps.backends, entity, input, request.requestId, abort.signal), abort };
      } catch (error) {
        abort.abort();
        throw error;
      } finally {
        attemptSignal.removeEventListener('abort', forward);
      }
    },
    routeDeps(deps),
  );
  facts.attempts = routed.attempts;
  if (routed.entity) facts.entity = routed.entity;
  if (!routed.ok) {
    facts.backendLatencyMs = deps.clock.monotonic() - routedAt;
    throw routed.error;
  }
  const { opened, abort } = routed.value;
  let timedOut: GatewayTimeoutError | undefined;
  const streamTimer = setTimeout(() => {
    timedOut = new GatewayTimeoutError(`The stream ran past endpoint ${endpoint.name}'s ${endpoint.streamTimeoutMs} ms limit`);
    abort.abort(timedOut);
  }, Math.max(0, request.startedAt + endpoint.streamTimeoutMs - deps.clock.monotonic()));
  const assembler = new StreamAssembler(endpoint.name, input);
  let resolveSettled!: (settled: SettledInvocation) => void;
  const settledPromise = new Promise<SettledInvocation>((resolve) => (resolveSettled = resolve));
  let isSettled = false;
  let callerLeft: ClientClosedRequestError | undefined;
  const leftEarly = (): ClientClosedRequestError => new ClientClosedRequestError('The caller closed the connection before the stream ended');

  const finish = async (statusCode: number, error: AppError | undefined): Promise<{ settled: SettledInvocation; mustWithhold: boolean }> => {
    isSettled = true;
    facts.backendLatencyMs = deps.clock.monotonic() - routedAt;
    facts.units = { kind: 'tokens', ...assembler.usage() };
    const assembled = assembler.assembled();
    const finished = await settle(
      request,
      deps,
      facts,
      statusCode,
      error,
      request.body,
      encoder.encode(JSON.stringify(assembled)),
      assembled,
      true,
    );
    resolveSettled(finished.settled);
    return finished;
  };

  async function* frames(): AsyncGenerator<Uint8Array> {
    try {
      let failure: AppError | undefined;
      try {
        let chunk = opened.first;
        for (;;) {
          const relayed = assembler.absorb(chunk);
          if (relayed !== undefined) yield sseFrame(relayed);
          const next = await opened.rest.next();
          if (next.done === true) break;
          chunk = next.value;
        }
      } catch (thrown) {
        failure = toAppError(timedOut ?? callerLeft ?? thrown);
      }
      // A backend may end its stream quietly when it is stopped: the answer is still cut short.
      failure ??= timedOut ?? callerLeft;
      if (failure === undefined) {
        const usageChunk = assembler.closingUsageChunk();
        if (usageChunk !== undefined) yield sseFrame(usageChunk);
      }
      const { settled, mustWithhold } = await finish(failure ? failure.statusCode : 200, failure);
      const ending = failure ?? (mustWithhold ? auditUnavailable(settled.handoffError) : undefined);
      if (ending !== undefined) {
        settled.error = ending;
        yield sseFrame(errorResponse(ending, request.requestId).payload);
      } else {
        yield encoder.encode('data: [DONE]\n\n');
      }
    } finally {
      await close();
    }
  }

  /** Stops the backend's stream; a request the caller left before its end is still audited, as cut short. */
  async function close(): Promise<void> {
    clearTimeout(streamTimer);
    abort.abort();
    opened.rest.return?.().catch(() => undefined);
    if (!isSettled) await finish(499, leftEarly());
  }

  // A generator closed before its first `next()` never runs its `finally`: a caller that leaves
  // before the first frame is read must still be audited, so closing is checked here too.
  const generator = frames();
  let started = false;
  const body: AsyncIterable<Uint8Array> = {
    [Symbol.asyncIterator]: () => ({
      next: () => {
        started = true;
        return generator.next();
      },
      return: async (value?: unknown) => {
        if (!started) {
          await close();
        } else if (!isSettled) {
          // The return waits until the generator's pending read ends: the backend is stopped
          // now, so that read ends at once and the stream settles as cut short.
          callerLeft = leftEarly();
          abort.abort(callerLeft);
        }
        return generator.return(value as undefined);
      },
    }),
  };

  return {
    statusCode: 200,
    headers: {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-modelgate-served-entity': routed.entity.name,
    },
    body,
    settled: settledPromise,
  };
}

function sseFrame(value: unknown): Uint8Array {
  return encoder.encode(`data: ${JSON.stringify(value)}\n\n`);
}
