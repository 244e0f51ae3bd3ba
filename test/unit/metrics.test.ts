import { afterEach, describe, expect, it, vi } from 'vitest';
import { metrics, recordAsyncWorkerMetrics, recordInvocationMetrics } from '../../lib/http/metrics';
import { captureProcessOutput } from './http/process-output';
import type { SettledInvocation } from '../../lib/core/serve-invocation';
import type { AuditRecord } from '../../lib/core/audit-record';
import { ServiceUnavailableError } from '../../lib/core/errors';

function outcome(statusCode: number, audit: Partial<AuditRecord>): SettledInvocation {
  return {
    statusCode,
    overheadMs: 3,
    audit: { endpoint: 'iris', servedEntity: 'iris-v1', latencyMs: 15, backendLatencyMs: 12, ...audit } as AuditRecord,
  };
}

describe('invocation metrics (EMF)', () => {
  afterEach(() => {
    metrics.clearMetrics();
    metrics.clearDimensions();
  });

  it('records latency, overhead and success per endpoint and served entity', () => {
    // Act
    recordInvocationMetrics(outcome(200, {}), true);
    const emf = metrics.serializeMetrics() as unknown as Record<string, unknown>;
    // Assess
    expect(emf).toMatchObject({ endpoint: 'iris', servedEntity: 'iris-v1', Latency: 15, Overhead: 3, BackendLatency: 12, Success: 1 });
  });

  it('never turns a caller-chosen unknown endpoint name into a dimension', () => {
    recordInvocationMetrics(outcome(404, { endpoint: 'random-123', servedEntity: null, backendLatencyMs: null }), false);
    const emf = metrics.serializeMetrics() as unknown as Record<string, unknown>;
    expect(emf).toMatchObject({ endpoint: '(unknown)', servedEntity: '(none)', ClientError: 1 });
    expect(JSON.stringify(emf)).not.toContain('random-123');
  });

  it('counts a throttling backend apart from other faults, for the backend-throttled alarm', () => {
    // Prepare
    const throttled = { ...outcome(503, {}), error: new ServiceUnavailableError('BACKEND_THROTTLED', 'slow down') };
    const unavailable = { ...outcome(503, {}), error: new ServiceUnavailableError('BACKEND_UNAVAILABLE', 'down') };
    // Act
    recordInvocationMetrics(throttled, true);
    const throttledEmf = metrics.serializeMetrics() as unknown as Record<string, unknown>;
    metrics.clearMetrics();
    metrics.clearDimensions();
    recordInvocationMetrics(unavailable, true);
    const unavailableEmf = metrics.serializeMetrics() as unknown as Record<string, unknown>;
    // Assess
    expect(throttledEmf).toMatchObject({ BackendThrottled: 1, Fault: 1 });
    expect(unavailableEmf).toMatchObject({ Fault: 1 });
    expect(unavailableEmf).not.toHaveProperty('BackendThrottled');
  });

  it('tells the fail-closed alarm of an async request that ended without its audit record, going round again or for good', () => {
    // Prepare
    const written = captureProcessOutput();
    // Act
    recordAsyncWorkerMetrics([
      { kind: 'sent-again', error: new Error('audit queue unreachable') },
      { kind: 'finished', status: 'succeeded', auditHandoffError: new Error('audit queue unreachable') },
      { kind: 'finished', status: 'succeeded' },
    ]);
    vi.restoreAllMocks();
    // Assess: one AuditHandoffFailure, published at once, for each of the first two.
    const handoffFailures = written.filter((line) => line.includes('"AuditHandoffFailure"'));
    expect(handoffFailures).toHaveLength(2);
    expect(metrics.serializeMetrics()).toMatchObject({ AsyncHandoffSentAgain: 1, AsyncSucceeded: 2 });
  });
});
