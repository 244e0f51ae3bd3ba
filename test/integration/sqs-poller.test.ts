import { CreateQueueCommand, GetQueueAttributesCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type LocalEmulator } from '../../local/emulator';
import { installInvokeStore } from '../../local/invoke-store';
import { startSqsPoller, type SqsPoller, type SqsPollerEvent } from '../../local/sqs-poller';

// The poller against an emulator of its own, so it can be paused without disturbing other tests.
describe('the local SQS poller (Lambda\'s SQS event source mapping, locally)', () => {
  let emulator: LocalEmulator;
  let sqs: SQSClient;
  let poller: SqsPoller | undefined;
  let queueCount = 0;

  beforeAll(async () => {
    await installInvokeStore({ overlapping: false });
    emulator = await startEmulator({ host: '127.0.0.1', port: 0 });
    sqs = new SQSClient({ region: 'us-east-1', endpoint: emulator.url, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  });

  afterEach(async () => {
    await poller?.stop();
    poller = undefined;
  });

  afterAll(async () => {
    await emulator.stop();
  });

  async function queue(attributes: Record<string, string> = {}) {
    queueCount += 1;
    const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `poller-test-${queueCount}-dlq` }));
    const dlqArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
    const { QueueUrl } = await sqs.send(
      new CreateQueueCommand({
        QueueName: `poller-test-${queueCount}`,
        Attributes: { VisibilityTimeout: '1', RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 3 }), ...attributes },
      }),
    );
    return { url: QueueUrl!, arn: `arn:aws:sqs:us-east-1:000000000000:poller-test-${queueCount}`, dlqUrl: dlq.QueueUrl! };
  }

  async function send(url: string, bodies: string[]) {
    for (let i = 0; i < bodies.length; i += 10) {
      await sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: bodies.slice(i, i + 10).map((body, j) => ({ Id: String(j), MessageBody: body, MessageAttributes: { n: { DataType: 'String', StringValue: body } } })) }));
    }
  }

  async function depth(url: string): Promise<number> {
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
    return Number(Attributes?.ApproximateNumberOfMessages ?? 0) + Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
  }

  async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 8_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error('condition not met in time');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  it('gathers batches up to the batch size within the batching window and hands over Lambda\'s SQS records', async () => {
    // Prepare
    const { url, arn } = await queue();
    await send(url, Array.from({ length: 25 }, (_, i) => `m${i}`));
    const events: SQSEvent[] = [];
    // Act
    poller = startSqsPoller({ sqs, queueUrl: url, queueArn: arn, functionName: 'f', timeoutSeconds: 5, batchSize: 20, maximumBatchingWindowSeconds: 0.5, handler: async (event) => void events.push(event) });
    await until(() => events.flatMap((event) => event.Records).length === 25);
    // Assess
    expect(events.map((event) => event.Records.length)).toEqual([20, 5]);
    expect(events[0]!.Records[0]).toMatchObject({
      eventSource: 'aws:sqs',
      eventSourceARN: arn,
      awsRegion: 'us-east-1',
      body: expect.stringMatching(/^m\d+$/),
      attributes: { ApproximateReceiveCount: '1', SentTimestamp: expect.stringMatching(/^\d+$/) },
      messageAttributes: { n: { dataType: 'String', stringValue: expect.stringMatching(/^m\d+$/), stringListValues: [], binaryListValues: [] } },
    });
    await until(async () => (await depth(url)) === 0);
    expect(poller.stats).toMatchObject({ invocations: 2, messagesDeleted: 25 });
  });

  it('with ReportBatchItemFailures, deletes the rest and lets only the failed messages come back', async () => {
    // Prepare
    const { url, arn } = await queue();
    await send(url, ['ok-1', 'fail-once', 'ok-2']);
    const seen: string[] = [];
    let failed = false;
    // Act
    poller = startSqsPoller({
      sqs, queueUrl: url, queueArn: arn, functionName: 'f', timeoutSeconds: 5, batchSize: 10, maximumBatchingWindowSeconds: 0.3, reportBatchItemFailures: true,
      handler: async (event): Promise<SQSBatchResponse> => {
        seen.push(...event.Records.map((record) => `${record.body}#${record.attributes.ApproximateReceiveCount}`));
        const failure = !failed ? event.Records.find((record) => record.body === 'fail-once') : undefined;
        if (failure) failed = true;
        return { batchItemFailures: failure ? [{ itemIdentifier: failure.messageId }] : [] };
      },
    });
    await until(() => seen.includes('fail-once#2'));
    await until(async () => (await depth(url)) === 0);
    // Assess: the failed message came back after the visibility timeout (1 s), the others never did.
    expect(seen.sort()).toEqual(['fail-once#1', 'fail-once#2', 'ok-1#1', 'ok-2#1']);
  });

  it('deletes nothing when the handler throws, times out or reports a failure it was not given; poison ends in the DLQ', async () => {
    // Prepare
    const { url, arn, dlqUrl } = await queue();
    await send(url, ['poison']);
    const events: SqsPollerEvent[] = [];
    let calls = 0;
    // Act: throw, then time out, then report a bogus identifier: each keeps the message.
    poller = startSqsPoller({
      sqs, queueUrl: url, queueArn: arn, functionName: 'f', timeoutSeconds: 1, reportBatchItemFailures: true,
      onEvent: (event) => events.push(event),
      handler: async () => {
        calls += 1;
        if (calls === 1) throw new Error('boom');
        if (calls === 2) return new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 1_500));
        return { batchItemFailures: [{ itemIdentifier: 'not-in-this-batch' }] };
      },
    });
    await until(async () => (await depth(dlqUrl)) === 1, 12_000);
    // Assess
    expect(calls).toBe(3);
    expect(events.map((event) => event.type)).toEqual(['invocation-failed', 'invocation-failed', 'invoked']);
    expect(events[1]).toMatchObject({ error: expect.stringContaining('timed out after 1 seconds') });
    expect(events[2]).toMatchObject({ deleted: 0, returned: 1 });
    expect(await depth(url)).toBe(0);
  });

  it('backs off while the queue is unreachable and carries on when it returns', async () => {
    // Prepare
    const { url, arn } = await queue();
    const events: SqsPollerEvent[] = [];
    const bodies: string[] = [];
    poller = startSqsPoller({ sqs, queueUrl: url, queueArn: arn, functionName: 'f', timeoutSeconds: 5, onEvent: (event) => events.push(event), handler: async (event) => void bodies.push(...event.Records.map((r) => r.body)) });
    // Act
    await emulator.pause();
    await until(() => events.filter((event) => event.type === 'receive-failed').length >= 3);
    await emulator.resume();
    await send(url, ['after the outage']);
    await until(() => bodies.length === 1);
    // Assess
    const retries = events.filter((event): event is Extract<SqsPollerEvent, { type: 'receive-failed' }> => event.type === 'receive-failed').map((event) => event.retryInMs);
    expect(retries.slice(0, 3)).toEqual([100, 200, 400]);
    expect(bodies).toEqual(['after the outage']);
  });
});
