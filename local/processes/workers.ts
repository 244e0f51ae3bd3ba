import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { buildLambdaContext } from '../api/api-gateway-event';
import { readEventSources } from '../event-sources';
import { installInvokeStore, runInvocation } from '../invoke-store';
import { loadHandler } from '../load-handler';
import { startSqsPoller, type SqsHandler, type SqsPoller } from '../sqs-poller';
import { announceReady, closeOnSignals, exitWithOneLine } from './ready-line';

// The local stack's queue consumers and scheduled functions: what serverless.yml declares as
// `sqs` and `schedule` events, driven for real against the emulator (local/sqs-poller.ts does what
// Lambda's event source mapping does). Configured by environment: MODELGATE_LOCAL_QUEUES (JSON:
// queue logical id → {url, arn, concurrency?}), MODELGATE_LOCAL_SCHEDULE_SECONDS, MODELGATE_LOCAL_BATCH_WINDOW_SECONDS
// (caps serverless.yml's batching windows, so records show up in seconds locally), plus the same
// environment the API's handlers get.
//
// A new consumer (e.g. the async worker) needs no code here: give its function an `sqs` event
// with `arn: { Fn::GetAtt: [<Queue>, Arn] }` in serverless.yml, create <Queue> in local/stack.ts
// and add it to MODELGATE_LOCAL_QUEUES there.
type ScheduledHandler = (event: ScheduledEvent, context: Context) => Promise<unknown>;

const log = (entry: Record<string, unknown>) => process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`);

try {
  // Pollers and schedules invoke side by side in this one process: each invocation keeps its
  // own log keys and metrics, as on Lambda Managed Instances.
  await installInvokeStore({ overlapping: true });
  const root = process.cwd();
  const queues = JSON.parse(process.env.MODELGATE_LOCAL_QUEUES ?? '{}') as Record<string, { url: string; arn: string; concurrency?: number }>;
  const scheduleSeconds = Number(process.env.MODELGATE_LOCAL_SCHEDULE_SECONDS ?? 60);
  const windowCap = Number(process.env.MODELGATE_LOCAL_BATCH_WINDOW_SECONDS ?? 1);
  const region = process.env.AWS_REGION ?? 'us-east-1';
  const sources = readEventSources(`${root}/serverless.yml`);
  const sqs = new SQSClient({ region, endpoint: process.env.AWS_ENDPOINT_URL_SQS });

  const pollers: SqsPoller[] = [];
  // A function polled on two queues (the archiver: the audit queue and the readers' queue) runs one
  // invocation at a time across both, unless its queues allow more: see `concurrency` below.
  const oneAtATime = new Map<string, SqsHandler>();
  for (const source of sources.sqs) {
    const queue = queues[source.queue];
    if (!queue) {
      log({ level: 'WARN', message: `no local queue for ${source.queue}; ${source.functionName} is not polled` });
      continue;
    }
    const loaded = await loadHandler<SqsHandler>(root, source.handler);
    let handler = loaded;
    if (queue.concurrency === undefined) {
      handler = oneAtATime.get(source.functionName) ?? serialized(loaded);
      oneAtATime.set(source.functionName, handler);
    }
    pollers.push(
      startSqsPoller({
        sqs,
        queueUrl: queue.url,
        queueArn: queue.arn,
        region,
        handler,
        functionName: source.functionName,
        timeoutSeconds: source.timeoutSeconds,
        batchSize: source.batchSize,
        maximumBatchingWindowSeconds: Math.min(source.maximumBatchingWindowSeconds, windowCap),
        reportBatchItemFailures: source.reportBatchItemFailures,
        // One invocation at a time unless the queue says otherwise: the emulator does not enforce the
        // create-only writes that keep concurrent consumers (e.g. archivers) from overwriting each other in AWS.
        concurrency: queue.concurrency ?? 1,
        onEvent: (event) => log({ level: event.type === 'invoked' ? 'INFO' : 'ERROR', message: `sqs poller: ${event.type}`, ...event }),
      }),
    );
    log({ level: 'INFO', message: `polling ${source.queue} for ${source.functionName}`, batchSize: source.batchSize });
  }

  const timers: NodeJS.Timeout[] = [];
  const running = new Set<Promise<unknown>>();
  for (const source of sources.schedules) {
    const handler = await loadHandler<ScheduledHandler>(root, source.handler);
    let busy = false;
    const fire = () => {
      if (busy) return;
      busy = true;
      const event = {
        version: '0',
        id: crypto.randomUUID(),
        'detail-type': 'Scheduled Event',
        source: 'aws.events',
        account: '000000000000',
        time: new Date().toISOString(),
        region,
        resources: [],
        detail: {},
      } as ScheduledEvent;
      const context = buildLambdaContext(source.functionName, source.timeoutSeconds);
      const run = runInvocation(context, () => handler(event, context))
        .catch((error: unknown) => log({ level: 'ERROR', message: `scheduled ${source.functionName} failed`, error: String(error) }))
        .finally(() => {
          busy = false;
          running.delete(run);
        });
      running.add(run);
    };
    timers.push(setInterval(fire, scheduleSeconds * 1000));
    log({ level: 'INFO', message: `running ${source.functionName} every ${scheduleSeconds} s (deployed: ${source.schedule})` });
  }

  closeOnSignals(async () => {
    for (const timer of timers) clearInterval(timer);
    await Promise.all([...pollers.map((poller) => poller.stop()), ...running]);
  });
  announceReady('local://workers');
} catch (error) {
  exitWithOneLine(error);
}

/** The handler, run one invocation at a time however many pollers call it. */
function serialized(handler: SqsHandler): SqsHandler {
  let previous: Promise<unknown> = Promise.resolve();
  return (event, context) => {
    const run = previous.then(() => handler(event, context));
    previous = run.catch(() => undefined);
    return run;
  };
}
