import type { ApiKeyRecord } from '../../lib/core/api-key';
import type { AuditRecord } from '../../lib/core/audit-record';
import type { UsageEvent } from '../../lib/core/usage-event';
import type { AuditSink } from '../../lib/ports/audit-sink';
import type { Clock } from '../../lib/ports/clock';
import type { KeyStore } from '../../lib/ports/key-store';
import type { ServedEntity } from '../../lib/core/endpoint-config';
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, Embeddings, EmbeddingsRequest } from '../../lib/core/openai-api';
import type { BackendCall, BackendRegistry, ModelBackend, PredictionAnswer } from '../../lib/ports/model-backend';
import type { UsageSink } from '../../lib/ports/usage-sink';

/** A key store holding the records it was given, counting lookups. */
export class FakeKeyStore implements KeyStore {
  lookups = 0;
  private readonly records = new Map<string, ApiKeyRecord>();

  constructor(records: ApiKeyRecord[] = []) {
    for (const record of records) this.records.set(record.keyHash, record);
  }

  async findByHash(keyHash: string): Promise<ApiKeyRecord | undefined> {
    this.lookups += 1;
    return this.records.get(keyHash);
  }
}

/**
 * An audit sink that keeps what it was asked to record, or fails when told to. The usage events
 * riding along with the records are kept in the usage sink it is given (where the archiver would
 * forward them), so a test reads every billed request in one place.
 */
export class RecordingAuditSink implements AuditSink {
  readonly records: AuditRecord[] = [];
  /** How many records arrived with a usage event attached. */
  withUsage = 0;
  failWith: Error | undefined;

  constructor(private readonly forwardUsageTo?: RecordingUsageSink) {}

  async record(record: AuditRecord, usage?: UsageEvent): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.records.push(record);
    if (usage === undefined) return;
    this.withUsage += 1;
    if (!this.forwardUsageTo) throw new Error('RecordingAuditSink: a usage event rode along, but this sink was given no usage sink to forward it to');
    this.forwardUsageTo.events.push(usage);
  }
}

/** A usage sink that keeps what it was sent, or fails when told to. */
export class RecordingUsageSink implements UsageSink {
  readonly events: UsageEvent[] = [];
  /** Events sent on their own (`publish`), not riding along with an audit record. */
  publishedAlone = 0;
  failWith: Error | undefined;

  async publish(event: UsageEvent): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.publishedAlone += 1;
    this.events.push(event);
  }

  async publishAll(events: readonly UsageEvent[]): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.events.push(...events);
  }
}

/** Any call a scripted backend receives. */
export type AnyCall = BackendCall<ServedEntity, unknown>;

/**
 * A backend whose behaviour each test scripts, per capability; it records every call it received.
 * `behaviour` answers `predict` (classic models); `chatWith`, `streamChatWith` and the others the
 * LLM capabilities, when a test gives them.
 */
export class ScriptedBackend implements ModelBackend<ServedEntity> {
  readonly requests: AnyCall[] = [];
  chatWith: ((call: BackendCall<ServedEntity, ChatCompletionRequest>) => Promise<ChatCompletion>) | undefined;
  streamChatWith: ((call: BackendCall<ServedEntity, ChatCompletionRequest>) => AsyncIterable<ChatCompletionChunk>) | undefined;
  embedWith: ((call: BackendCall<ServedEntity, EmbeddingsRequest>) => Promise<Embeddings>) | undefined;

  constructor(public behaviour: (call: AnyCall) => Promise<PredictionAnswer>) {}

  async predict(call: BackendCall<ServedEntity, Uint8Array>): Promise<PredictionAnswer> {
    this.requests.push(call);
    return this.behaviour(call);
  }

  async chat(call: BackendCall<ServedEntity, ChatCompletionRequest>): Promise<ChatCompletion> {
    this.requests.push(call);
    if (!this.chatWith) throw new Error('chat not scripted');
    return this.chatWith(call);
  }

  streamChat(call: BackendCall<ServedEntity, ChatCompletionRequest>): AsyncIterable<ChatCompletionChunk> {
    this.requests.push(call);
    if (!this.streamChatWith) throw new Error('streamChat not scripted');
    return this.streamChatWith(call);
  }

  async embed(call: BackendCall<ServedEntity, EmbeddingsRequest>): Promise<Embeddings> {
    this.requests.push(call);
    if (!this.embedWith) throw new Error('embed not scripted');
    return this.embedWith(call);
  }
}

/** A registry where every backend is the same scripted one. */
export function scriptedRegistry(backend: ScriptedBackend): BackendRegistry {
  return { sagemaker: backend, openai: backend, anthropic: backend };
}

/** A backend that answers with the given JSON. */
export function answering(json: unknown): (call: AnyCall) => Promise<PredictionAnswer> {
  return async () => ({ body: new TextEncoder().encode(JSON.stringify(json)), contentType: 'application/json' });
}

/** A chat backend's answer "ok", reporting 8 prompt and 2 completion tokens. */
export function chatAnswering(): () => Promise<ChatCompletion> {
  return async () => ({
    id: 'c',
    object: 'chat.completion',
    created: 1,
    model: 'llm',
    choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 8, completion_tokens: 2, total_tokens: 10 },
  });
}

/** A backend that never answers before its call's deadline aborts it. */
export function hangingUntilAborted<T>(onAbort: (reason: unknown) => Error): (call: AnyCall) => Promise<T> {
  return (call) =>
    new Promise((_, reject) => {
      call.signal.addEventListener('abort', () => reject(onAbort(call.signal.reason)), { once: true });
    });
}

/** A clock that only moves when told to. */
export class ManualClock implements Clock {
  constructor(
    private wall = new Date('2026-11-21T10:15:30.000Z'),
    private mono = 1_000,
  ) {}

  now(): Date {
    return new Date(this.wall);
  }

  monotonic(): number {
    return this.mono;
  }

  advance(ms: number): void {
    this.mono += ms;
    this.wall = new Date(this.wall.getTime() + ms);
  }
}
