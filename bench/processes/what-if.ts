/**
 * Changes the in-process handler loop can make to its own process, to measure what a part of the
 * hot path costs by taking it away (never used for the headline figures):
 * - `stub-sqs`: `SQSClient.send` answers at once without serialising, signing or sending (the
 *   audit record's hand-off, which carries the usage event).
 * - `no-log-lines`: Powertools' `Logger.info` writes nothing (the `Invocation` line of every
 *   served request; warnings and errors are not on the measured path).
 * - `no-metrics`: Powertools' `Metrics` stores and publishes nothing (the EMF line per invocation).
 * - `no-overlap-store`: overlapping invocations share one log and metrics context instead of one
 *   invoke-store context each (AsyncLocalStorage, whose promise hooks Node 20 runs on every
 *   promise). Their log keys and metrics then mix: a cost measure only, and handled in the loop,
 *   which installs the store.
 *
 * Two earlier variants became what modelgate does (see BENCHMARKS.md, "Hot path, change by
 * change"): the X-Ray SDK is no longer loaded where tracing is off, and the backend call no longer
 * goes through fetch.
 */
export type WhatIf = 'stub-sqs' | 'no-log-lines' | 'no-metrics' | 'no-overlap-store';

/** Applied before the handler module is imported. */
export async function applyWhatIfs(whatIfs: readonly WhatIf[]): Promise<void> {
  if (whatIfs.includes('stub-sqs')) await stubSqs();
  if (whatIfs.includes('no-log-lines')) {
    const { Logger } = await import('@aws-lambda-powertools/logger');
    Logger.prototype.info = function noLine() {} as typeof Logger.prototype.info;
  }
  if (whatIfs.includes('no-metrics')) {
    const { Metrics } = await import('@aws-lambda-powertools/metrics');
    Metrics.prototype.addDimensions = function nothing(this: InstanceType<typeof Metrics>) {
      return this;
    };
    Metrics.prototype.addMetric = function nothing(this: InstanceType<typeof Metrics>) {
      return this;
    };
    Metrics.prototype.publishStoredMetrics = function nothing() {} as typeof Metrics.prototype.publishStoredMetrics;
  }
}

async function stubSqs(): Promise<void> {
  const { SQSClient } = await import('@aws-sdk/client-sqs');
  let id = 0;
  SQSClient.prototype.send = function stubbedSend() {
    id += 1;
    return Promise.resolve({ MessageId: `stub-${id}`, $metadata: {} });
  } as typeof SQSClient.prototype.send;
}
