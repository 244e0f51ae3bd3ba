import { setTimeout as sleep } from 'node:timers/promises';
import type { CircuitBreakers } from './circuit-breaker';
import type { ServedEntity, ServingEndpoint } from './endpoint-config';
import type { AppError } from './errors';
import { callModel, type ModelAnswer, type ModelInput } from './model-call';
import { routeRequest, type RouteAttempt, type RouteDeps } from './route-request';
import { answerMessageText, chatPromptText, completionPromptText, embeddingsUsage, openAiUsage, tokenUsage } from './token-usage';
import type { UsageUnits } from './usage-event';
import type { Clock } from '../ports/clock';
import type { BackendRegistry } from '../ports/model-backend';

/** What routing a request to a model needs: the backends, the instance's breakers, time. */
export interface EndpointCallDeps {
  backends: BackendRegistry;
  clock: Clock;
  /** Circuit breakers of this instance, shared by its requests. */
  breakers: CircuitBreakers;
  /** Backoff jitter and waiting, replaceable in tests. */
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** A request's way through routing: the answer as the caller receives it, or why none came. */
export type EndpointCallResult =
  | {
      ok: true;
      /** The answer's bytes: the model's own for classic models, our JSON for LLM tasks. */
      body: Uint8Array;
      json: unknown;
      units: UsageUnits;
      entity: ServedEntity;
      attempts: RouteAttempt[];
      backendLatencyMs: number;
    }
  | { ok: false; error: AppError; entity: ServedEntity | undefined; attempts: RouteAttempt[]; backendLatencyMs: number };

const encoder = new TextEncoder();

/**
 * Routes a validated, non-streaming request to the endpoint's served entities (weights, retries,
 * fallbacks, circuit breakers, all before `deadline`, monotonic ms) and checks the answer: the one
 * way to a model that the synchronous and queued paths share. Never throws.
 */
export async function invokeEndpoint(
  endpoint: ServingEndpoint,
  input: ModelInput,
  requestId: string,
  deadline: number,
  deps: EndpointCallDeps,
): Promise<EndpointCallResult> {
  const routedAt = deps.clock.monotonic();
  const routed = await routeRequest(
    endpoint,
    requestId,
    deadline,
    (entity, signal) => callModel(deps.backends, entity, input, requestId, signal),
    routeDeps(deps),
  );
  const backendLatencyMs = deps.clock.monotonic() - routedAt;
  if (!routed.ok) return { ok: false, error: routed.error, entity: routed.entity, attempts: routed.attempts, backendLatencyMs };
  const answer = presentAnswer(endpoint, input, routed.value);
  return { ok: true, ...answer, entity: routed.entity, attempts: routed.attempts, backendLatencyMs };
}

/** Routing's time and randomness, from the deps (real timers unless a test replaces them). */
export function routeDeps(deps: EndpointCallDeps): RouteDeps {
  return {
    breakers: deps.breakers,
    now: () => deps.clock.monotonic(),
    random: deps.random ?? Math.random,
    sleep: deps.sleep ?? ((ms) => sleep(ms)),
  };
}

/** A checked answer as the caller receives it, with what it consumed. */
function presentAnswer(
  endpoint: ServingEndpoint,
  input: ModelInput,
  answer: ModelAnswer,
): { body: Uint8Array; json: unknown; units: UsageUnits } {
  if (answer.task === 'custom') {
    // The model's own bytes, passed through without re-encoding.
    return { body: answer.body, json: answer.json, units: { kind: 'rows', input: input.task === 'custom' ? input.rows : 0 } };
  }
  const reply = { ...answer.answer, model: endpoint.name };
  let presented: unknown = reply;
  let usage;
  if (reply.object === 'chat.completion' && input.task === 'chat') {
    usage = tokenUsage(reply.usage, () => chatPromptText(input.request), () => reply.choices.map((c) => answerMessageText(c.message)).join(''));
  } else if (reply.object === 'text_completion' && input.task === 'completions') {
    usage = tokenUsage(reply.usage, () => completionPromptText(input.request), () => reply.choices.map((c) => c.text).join(''));
  } else if (reply.object === 'list' && input.task === 'embeddings') {
    usage = embeddingsUsage(reply.usage, input.request);
  } else {
    usage = tokenUsage(undefined, () => '', () => '');
  }
  reply.usage ??= openAiUsage(usage);
  if (reply.object === 'list' && input.task === 'embeddings' && input.request.encoding_format === 'base64') {
    presented = { ...reply, data: reply.data.map((item) => ({ ...item, embedding: float32Base64(item.embedding) })) };
  }
  return { body: encoder.encode(JSON.stringify(presented)), json: presented, units: { kind: 'tokens', ...usage } };
}

/** An embedding as OpenAI's `base64` encoding has it: little-endian float32 bytes. */
function float32Base64(vector: number[]): string {
  const bytes = Buffer.alloc(vector.length * 4);
  vector.forEach((value, index) => bytes.writeFloatLE(value, index * 4));
  return bytes.toString('base64');
}
