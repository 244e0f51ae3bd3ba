import type { ApiKeyRecord } from '../../lib/core/api-key';
import type { AuditRecord } from '../../lib/core/audit-record';
import type { UsageEvent } from '../../lib/core/usage-event';
import type { AuditSink } from '../../lib/ports/audit-sink';
import type { Clock } from '../../lib/ports/clock';
import type { KeyStore } from '../../lib/ports/key-store';
import type { BackendRequest, BackendResponse, ModelBackend } from '../../lib/ports/model-backend';
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

/** An audit sink that keeps what it was asked to record, or fails when told to. */
export class RecordingAuditSink implements AuditSink {
  readonly records: AuditRecord[] = [];
  failWith: Error | undefined;

  async record(record: AuditRecord): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.records.push(record);
  }
}

export class RecordingUsageSink implements UsageSink {
  readonly events: UsageEvent[] = [];
  failWith: Error | undefined;

  async publish(event: UsageEvent): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.events.push(event);
  }
}

/** A backend whose behaviour each test scripts; it records every request it received. */
export class ScriptedBackend implements ModelBackend {
  readonly requests: BackendRequest[] = [];

  constructor(public behaviour: (request: BackendRequest) => Promise<BackendResponse>) {}

  async invoke(request: BackendRequest): Promise<BackendResponse> {
    this.requests.push(request);
    return this.behaviour(request);
  }
}

/** A backend that answers with the given JSON. */
export function answering(json: unknown): (request: BackendRequest) => Promise<BackendResponse> {
  return async () => ({ body: new TextEncoder().encode(JSON.stringify(json)), contentType: 'application/json' });
}

/** A backend that never answers before its request's deadline aborts it. */
export function hangingUntilAborted(onAbort: (reason: unknown) => Error): (request: BackendRequest) => Promise<BackendResponse> {
  return (request) =>
    new Promise((_, reject) => {
      request.signal.addEventListener('abort', () => reject(onAbort(request.signal.reason)), { once: true });
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
