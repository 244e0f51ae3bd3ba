/**
 * Changes the in-process handler loop can make to its own process, to measure what a part of the
 * hot path costs by taking it away (never used for the headline figures):
 * - `stub-sqs`: `SQSClient.send` answers at once without serialising, signing or sending (the
 *   audit record's hand-off, which carries the usage event).
 * - `no-invocation-line`: a served request writes no line: neither its `Invocation` log entry nor
 *   the EMF metrics embedded in it (`lib/http/invocation-line.ts`). Its log level above INFO
 *   (`POWERTOOLS_LOG_LEVEL=WARN`, set before the handler is loaded) skips the line, but then hands
 *   the metrics to Powertools' `Metrics`, which this variant also stubs (it stores and publishes
 *   nothing), so no metric work takes the line's place. Without a variant, the line is written by
 *   modelgate itself and Powertools' `Logger.info` and `Metrics` are not on the path: stubbing
 *   them alone (this bench's earlier `no-log-lines` and `no-metrics`) took nothing away.
 * - `no-overlap-store`: overlapping invocations share one log and metrics context instead of one
 *   invoke-store context each (AsyncLocalStorage, whose promise hooks Node 20 runs on every
 *   promise). Their log keys and metrics then mix: a cost measure only, and handled in the loop,
 *   which installs the store.
 *
 * Two earlier variants became what modelgate does (see BENCHMARKS.md, "Hot path, change by
 * change"): the X-Ray SDK is no longer loaded where tracing is off, and the backend call no longer
 * goes through fetch.
 */
export type WhatIf = 'stub-sqs' | 'no-invocation-line' | 'no-overlap-store';

/** Applied before the handler module is imported. */
export async function applyWhatIfs(whatIfs: readonly WhatIf[]): Promise<void> {
  if (whatIfs.includes('stub-sqs')) await stubSqs();
  if (whatIfs.includes('no-invocation-line')) {
    process.env.POWERTOOLS_LOG_LEVEL = 'WARN';
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
  SQSClient.prototype.send = function stubbedSend(command: { input?: { Entries?: Array<{ Id?: string }> } }) {
    // A SendMessageBatch (the group commit's, when records are handed over in one turn) is
    // answered with every entry stored, as SQS answers it; anything else as one SendMessage.
    const entries = command.input?.Entries;
    if (entries === undefined) return Promise.resolve({ MessageId: `stub-${(id += 1)}`, $metadata: {} });
    return Promise.resolve({ Successful: entries.map((entry) => ({ Id: entry.Id, MessageId: `stub-${(id += 1)}` })), Failed: [], $metadata: {} });
  } as unknown as typeof SQSClient.prototype.send;
}
