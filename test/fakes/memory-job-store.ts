import { isSettled, type AsyncRequest, type AsyncRequestLease } from '../../lib/core/async/async-request';
import type { ClaimResult, IdempotencyEntry, JobStore } from '../../lib/ports/job-store';

/**
 * The job store in memory, with the DynamoDB adapter's conditions: claims, releases, outcomes and
 * hand-offs only under the right lease and status. Records every call; can fail on demand.
 */
export class MemoryJobStore implements JobStore {
  readonly requests = new Map<string, AsyncRequest>();
  readonly keys = new Map<string, IdempotencyEntry>();
  readonly calls: string[] = [];
  /** Makes the named operation throw (once per call) while set. */
  failing: Partial<Record<keyof JobStore, Error>> = {};

  private check(operation: keyof JobStore): void {
    this.calls.push(operation);
    const failure = this.failing[operation];
    if (failure) throw failure;
  }

  private change(requestId: string, patch: Partial<AsyncRequest>): AsyncRequest {
    const current = this.requests.get(requestId)!;
    const next = { ...current, ...patch, version: current.version + 1 };
    this.requests.set(requestId, next);
    return structuredClone(next);
  }

  async create(request: AsyncRequest) {
    this.check('create');
    if (this.requests.has(request.requestId)) return { created: false as const, existing: structuredClone(this.requests.get(request.requestId)) };
    this.requests.set(request.requestId, structuredClone(request));
    return { created: true as const };
  }

  async get(requestId: string) {
    this.check('get');
    const request = this.requests.get(requestId);
    return request ? structuredClone(request) : undefined;
  }

  async claim(requestId: string, expected: { tenant: string; endpoint: string; bodySha256: string }, lease: AsyncRequestLease, now: Date): Promise<ClaimResult> {
    this.check('claim');
    const current = this.requests.get(requestId);
    if (!current) return { outcome: 'missing' };
    if (current.tenant !== expected.tenant || current.endpoint !== expected.endpoint || current.body.sha256 !== expected.bodySha256) {
      return { outcome: 'mismatch', request: structuredClone(current) };
    }
    if (current.status === 'queued') {
      return {
        outcome: 'claimed',
        request: this.change(requestId, { status: 'running', startedAt: current.startedAt ?? now.toISOString(), lease, deliveries: current.deliveries + 1, updatedAt: now.toISOString() }),
      };
    }
    if (isSettled(current)) return { outcome: 'settled', request: structuredClone(current) };
    const held = current.lease;
    const free = held === null || held.until < now.getTime() || (held.messageId === lease.messageId && held.receiveCount < lease.receiveCount);
    if (!free) return { outcome: 'busy', request: structuredClone(current) };
    return {
      outcome: 'claimed',
      request: this.change(requestId, { lease, deliveries: current.status === 'running' ? current.deliveries + 1 : current.deliveries, updatedAt: now.toISOString() }),
    };
  }

  private holds(requestId: string, lease: AsyncRequestLease): boolean {
    const held = this.requests.get(requestId)?.lease;
    return held !== undefined && held !== null && held.messageId === lease.messageId && held.receiveCount === lease.receiveCount;
  }

  async release(requestId: string, lease: AsyncRequestLease, change: { attempts: AsyncRequest['attempts']; lastError: { code: string; message: string }; now: Date }) {
    this.check('release');
    if (!this.holds(requestId, lease) || this.requests.get(requestId)!.status !== 'running') return false;
    this.change(requestId, { status: 'queued', attempts: change.attempts, lastError: change.lastError, lease: null, updatedAt: change.now.toISOString() });
    return true;
  }

  async finish(requestId: string, lease: AsyncRequestLease, change: Parameters<JobStore['finish']>[2]) {
    this.check('finish');
    if (!this.holds(requestId, lease) || this.requests.get(requestId)!.status !== 'running') return false;
    this.change(requestId, {
      status: change.status,
      outcome: change.outcome,
      attempts: change.attempts,
      startedAt: change.startedAt,
      finishedAt: change.now.toISOString(),
      lastError: null,
      updatedAt: change.now.toISOString(),
    });
    return true;
  }

  async recordHandoff(requestId: string, lease: AsyncRequestLease, handoff: { audit: boolean; usage: boolean }, settled: boolean, now: Date) {
    this.check('recordHandoff');
    if (!this.holds(requestId, lease)) return false;
    this.change(requestId, { handoff, ...(settled ? { lease: null } : {}), updatedAt: now.toISOString() });
    return true;
  }

  async markRequeued(requestId: string, seenVersion: number, now: Date) {
    this.check('markRequeued');
    const current = this.requests.get(requestId);
    if (!current || current.version !== seenVersion || current.status !== 'queued' || current.deliveries !== 0) return false;
    this.change(requestId, { updatedAt: now.toISOString() });
    return true;
  }

  async failSubmission(requestId: string, error: { code: string; message: string }, now: Date) {
    this.check('failSubmission');
    const current = this.requests.get(requestId);
    if (!current || current.status !== 'queued' || current.deliveries !== 0) return false;
    this.change(requestId, {
      status: 'failed',
      finishedAt: now.toISOString(),
      handoff: { audit: true, usage: true },
      outcome: { statusCode: 503, error, servedEntity: null, units: null, backendLatencyMs: null, resultBytes: 0, auditRequired: true },
    });
    return true;
  }

  async reserveKey(entry: IdempotencyEntry, now: Date) {
    this.check('reserveKey');
    const id = `${entry.tenant}\n${entry.key}`;
    const existing = this.keys.get(id);
    if (existing && existing.expiresAt >= Math.floor(now.getTime() / 1000)) return { reserved: false as const, existing: { ...existing } };
    this.keys.set(id, { ...entry });
    return { reserved: true as const };
  }

  async takeOverKey(entry: IdempotencyEntry, previousRequestId: string) {
    this.check('takeOverKey');
    const id = `${entry.tenant}\n${entry.key}`;
    if (this.keys.get(id)?.requestId !== previousRequestId) return false;
    this.keys.set(id, { ...entry });
    return true;
  }

  async releaseKey(tenant: string, key: string, requestId: string) {
    this.check('releaseKey');
    const id = `${tenant}\n${key}`;
    if (this.keys.get(id)?.requestId === requestId) this.keys.delete(id);
  }
}

/** A request queue that records what was sent and every backoff asked for. */
export class RecordingRequestQueue {
  readonly sent: Array<{ text: string; requestId: string; delaySeconds?: number }> = [];
  readonly delays: Array<{ receiptHandle: string; seconds: number }> = [];
  failWith: Error | undefined;

  async send(text: string, attributes: { requestId: string }, options: { delaySeconds?: number } = {}): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.sent.push({ text, requestId: attributes.requestId, ...(options.delaySeconds === undefined ? {} : { delaySeconds: options.delaySeconds }) });
  }

  async retryLater(receiptHandle: string, seconds: number): Promise<void> {
    this.delays.push({ receiptHandle, seconds });
  }
}
