import type { Context } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AuditRecord } from '../../../lib/core/audit-record';
import { ServiceUnavailableError } from '../../../lib/core/errors';
import type { SettledInvocation } from '../../../lib/core/serve-invocation';
import { formatInvocationLine, writeInvocationLine, type InvocationLineContext } from '../../../lib/http/invocation-line';
import { logger } from '../../../lib/http/logger';
import { metrics, recordInvocationMetrics } from '../../../lib/http/metrics';
import { captureProcessOutput } from './process-output';

const CONTEXT = {
  functionName: 'modelgate-dev-openai',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:modelgate-dev-openai',
  memoryLimitInMB: '1024',
  awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
} as Context;

const INVOCATION: InvocationLineContext = { context: CONTEXT, requestId: '019aa1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b', coldStart: false, endpointExists: true };

function outcome(statusCode: number, audit: Partial<AuditRecord> = {}): SettledInvocation {
  return {
    statusCode,
    overheadMs: 3,
    audit: { endpoint: 'iris', servedEntity: 'iris-v1', tenant: 'acme', keyId: 'k-1', latencyMs: 15, backendLatencyMs: 12, ...audit } as AuditRecord,
  };
}

interface EmfBlock {
  Timestamp: number;
  CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string; Unit: string }> }>;
}

function parse(line: string): Record<string, unknown> & { _aws?: EmfBlock } {
  return JSON.parse(line) as Record<string, unknown> & { _aws?: EmfBlock };
}

describe('the line a served request writes', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    logger.setLogLevel('INFO');
    metrics.clearMetrics();
    metrics.clearDimensions();
  });

  it('is the Invocation log entry, with the Lambda context Powertools puts on every line', () => {
    // Act
    const line = parse(formatInvocationLine(outcome(200), { ...INVOCATION, coldStart: true }, { withMetrics: true, now: new Date('2026-12-06T18:00:00.000Z') }));
    // Assess
    expect(line).toMatchObject({
      level: 'INFO',
      message: 'Invocation',
      timestamp: '2026-12-06T18:00:00.000Z',
      cold_start: true,
      function_name: CONTEXT.functionName,
      function_arn: CONTEXT.invokedFunctionArn,
      function_memory_size: '1024',
      function_request_id: CONTEXT.awsRequestId,
      requestId: INVOCATION.requestId,
      endpoint: 'iris',
      servedEntity: 'iris-v1',
      tenant: 'acme',
      keyId: 'k-1',
      status: 200,
      latencyMs: 15,
      backendLatencyMs: 12,
    });
    expect(typeof line.service).toBe('string');
  });

  it('carries the same metrics, under the same dimensions, as Powertools would publish for the request', () => {
    // Prepare
    const throttled = { ...outcome(429), error: new ServiceUnavailableError('BACKEND_THROTTLED', 'slow down') };
    recordInvocationMetrics(throttled, true);
    const powertools = metrics.serializeMetrics() as unknown as Record<string, unknown> & { _aws: EmfBlock };
    // Act
    const line = parse(formatInvocationLine(throttled, INVOCATION, { withMetrics: true }));
    // Assess: a valid EMF document whose metrics and dimension values are Powertools' own.
    const [ours] = line._aws!.CloudWatchMetrics;
    const [theirs] = powertools._aws.CloudWatchMetrics;
    expect(ours!.Namespace).toBe(theirs!.Namespace);
    expect(ours!.Dimensions).toEqual(theirs!.Dimensions);
    expect(ours!.Metrics).toEqual(theirs!.Metrics);
    expect(ours!.Metrics.map((metric) => metric.Name)).toEqual(['Latency', 'Overhead', 'BackendLatency', 'ClientError', 'BackendThrottled']);
    for (const name of [...ours!.Metrics.map((metric) => metric.Name), ...ours!.Dimensions[0]!]) expect(line[name]).toEqual(powertools[name]);
  });

  it('never makes a dimension of an endpoint that does not exist, and masks the name the caller sent', () => {
    // Act
    const written = formatInvocationLine(outcome(404, { endpoint: 'mail jane@example.com', servedEntity: null, backendLatencyMs: null }), { ...INVOCATION, endpointExists: false }, { withMetrics: true });
    // Assess
    expect(parse(written)).toMatchObject({ endpoint: '(unknown)', servedEntity: '(none)', requestedEndpoint: 'mail [REDACTED:email]', ClientError: 1 });
    expect(written).not.toContain('jane@example.com');
  });

  it('leaves out what the request did not have, as Powertools leaves out empty members', () => {
    // Act
    const line = parse(formatInvocationLine(outcome(401, { tenant: null, keyId: null, servedEntity: null, backendLatencyMs: null }), { ...INVOCATION, endpointExists: true }, { withMetrics: true }));
    // Assess
    for (const absent of ['tenant', 'keyId', 'backendLatencyMs', 'errorCode', 'requestedEndpoint', 'BackendLatency']) expect(line).not.toHaveProperty(absent);
  });

  it('has no metrics where Powertools\' metrics are turned off', () => {
    const line = parse(formatInvocationLine(outcome(200), INVOCATION, { withMetrics: false }));
    expect(line).not.toHaveProperty('_aws');
    expect(line).not.toHaveProperty('Latency');
    expect(line).toMatchObject({ message: 'Invocation', latencyMs: 15 });
  });

  it('is written as one line at INFO, and above INFO only the metrics are, through Powertools', () => {
    // Prepare
    const lines: string[] = [];
    // Act
    writeInvocationLine(outcome(200), INVOCATION, (line) => lines.push(line));
    logger.setLogLevel('WARN');
    const written = captureProcessOutput();
    writeInvocationLine(outcome(200), INVOCATION, (line) => lines.push(line));
    // Assess
    expect(lines).toHaveLength(1);
    expect(parse(lines[0]!)).toMatchObject({ message: 'Invocation', Latency: 15 });
    // (Powertools also warns on standard error where no namespace is set, as in this test.)
    const published = written.join('').split('\n').filter((line) => line.startsWith('{')).map((line) => parse(line));
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({ endpoint: 'iris', Latency: 15, Success: 1 });
    expect(published[0]).not.toHaveProperty('message');
  });
});
