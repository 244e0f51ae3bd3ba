import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

/** A function's `sqs` event in serverless.yml: what Lambda's event source mapping would do. */
export interface SqsEventSource {
  functionName: string;
  /** `functions/audit-archiver.handler` → module `functions/audit-archiver`, export `handler`. */
  handler: string;
  timeoutSeconds: number;
  /** The queue's logical id in `resources` (from `arn: { Fn::GetAtt: [Queue, Arn] }`). */
  queue: string;
  batchSize: number;
  maximumBatchingWindowSeconds: number;
  reportBatchItemFailures: boolean;
  maximumConcurrency: number | undefined;
}

/** A function's `schedule` event (the local stack runs it on its own interval). */
export interface ScheduleEventSource {
  functionName: string;
  handler: string;
  timeoutSeconds: number;
  /** As written (may be an unresolved `${param:...}` locally). */
  schedule: string;
}

type SqsEvent = {
  arn?: unknown;
  batchSize?: number;
  maximumBatchingWindow?: number;
  functionResponseType?: string;
  maximumConcurrency?: number;
  enabled?: boolean;
};

interface ServerlessDocument {
  provider?: { timeout?: number };
  functions?: Record<string, { handler: string; timeout?: number; events?: Array<{ sqs?: SqsEvent; schedule?: unknown }> }>;
}

/**
 * Reads the queue and schedule triggers from serverless.yml, so the local stack drives exactly
 * the consumers a deployment would, with the same batch settings. Only queues referenced as
 * `Fn::GetAtt: [<LogicalId>, Arn]` can be mapped to local queues.
 */
export function readEventSources(serverlessYmlPath: string): { sqs: SqsEventSource[]; schedules: ScheduleEventSource[] } {
  const document = parse(readFileSync(serverlessYmlPath, 'utf8')) as ServerlessDocument;
  const sqs: SqsEventSource[] = [];
  const schedules: ScheduleEventSource[] = [];
  for (const [functionName, fn] of Object.entries(document.functions ?? {})) {
    const timeoutSeconds = fn.timeout ?? document.provider?.timeout ?? 6;
    for (const event of fn.events ?? []) {
      if (event.sqs && event.sqs.enabled !== false) {
        const getAtt = (event.sqs.arn as { 'Fn::GetAtt'?: unknown[] } | undefined)?.['Fn::GetAtt'];
        if (!Array.isArray(getAtt) || typeof getAtt[0] !== 'string') continue;
        sqs.push({
          functionName,
          handler: fn.handler,
          timeoutSeconds,
          queue: getAtt[0],
          batchSize: event.sqs.batchSize ?? 10,
          maximumBatchingWindowSeconds: event.sqs.maximumBatchingWindow ?? 0,
          reportBatchItemFailures: event.sqs.functionResponseType === 'ReportBatchItemFailures',
          maximumConcurrency: event.sqs.maximumConcurrency,
        });
      }
      if (event.schedule !== undefined) {
        const schedule = typeof event.schedule === 'string' ? event.schedule : JSON.stringify(event.schedule);
        schedules.push({ functionName, handler: fn.handler, timeoutSeconds, schedule });
      }
    }
  }
  return { sqs, schedules };
}
