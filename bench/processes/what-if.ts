/**
 * Changes the in-process handler loop can make to its own process, to measure what a part of the
 * hot path costs by taking it away (never used for the headline figures):
 * - `stub-sqs`: `SQSClient.send` answers at once without serialising, signing or sending (the
 *   audit record's hand-off, which carries the usage event).
 *
 * Two earlier variants became what modelgate does (see BENCHMARKS.md, "Hot path, change by
 * change"): the X-Ray SDK is no longer loaded where tracing is off, and the backend call no longer
 * goes through fetch.
 */
export type WhatIf = 'stub-sqs';

/** Applied before the handler module is imported. */
export async function applyWhatIfs(whatIfs: readonly WhatIf[]): Promise<void> {
  if (whatIfs.includes('stub-sqs')) await stubSqs();
}

async function stubSqs(): Promise<void> {
  const { SQSClient } = await import('@aws-sdk/client-sqs');
  let id = 0;
  SQSClient.prototype.send = function stubbedSend() {
    id += 1;
    return Promise.resolve({ MessageId: `stub-${id}`, $metadata: {} });
  } as typeof SQSClient.prototype.send;
}
