import { CreateQueueCommand, ReceiveMessageCommand, SQSClient, type Message, type SendMessageBatchResult } from '@aws-sdk/client-sqs';
import { describe, expect, inject, it } from 'vitest';
import { createGroupCommitSender, type QueueMessage } from '../../lib/adapters/sqs-group-commit';

const stack = inject('stack');
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

interface SentCall {
  command: string;
  entries: number;
}

/** A real SQS client against the emulator that remembers each call it made and how many messages it carried. */
function recordingSqsClient(): { sqs: SQSClient; calls: SentCall[] } {
  const sqs = new SQSClient({ region: 'us-east-1', endpoint: stack.emulatorUrl, credentials });
  const calls: SentCall[] = [];
  sqs.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { Entries?: unknown[] };
      calls.push({ command: context.commandName ?? '', entries: input.Entries?.length ?? 1 });
      return next(args);
    },
    { step: 'initialize', name: 'recordCalls' },
  );
  return { sqs, calls };
}

async function queue(sqs: SQSClient, name: string): Promise<string> {
  return (await sqs.send(new CreateQueueCommand({ QueueName: `${name}-${process.pid}-${Date.now()}` }))).QueueUrl!;
}

async function receiveAll(sqs: SQSClient, queueUrl: string, expected: number): Promise<Message[]> {
  const received: Message[] = [];
  for (let round = 0; round < 10 && received.length < expected; round += 1) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: ['All'] }),
    );
    received.push(...Messages);
  }
  return received;
}

function message(n: number, bodyBytes = 20): QueueMessage {
  return {
    MessageBody: `m${n}:`.padEnd(bodyBytes, 'x'),
    MessageAttributes: { requestId: { DataType: 'String', StringValue: `req-${n}` } },
  };
}

describe('SQS group commit', () => {
  it('sends a message handed over while nothing is in flight at once, in its own SendMessage', async () => {
    // Prepare
    const { sqs, calls } = recordingSqsClient();
    const queueUrl = await queue(sqs, 'group-commit-alone');
    const send = createGroupCommitSender(sqs, queueUrl);
    calls.length = 0;
    // Act
    await send(message(1));
    await send(message(2));
    // Assess
    expect(calls).toEqual([
      { command: 'SendMessageCommand', entries: 1 },
      { command: 'SendMessageCommand', entries: 1 },
    ]);
    const received = await receiveAll(sqs, queueUrl, 2);
    expect(received.map((m) => m.Body).sort()).toEqual([message(1).MessageBody, message(2).MessageBody]);
  });

  it('sends messages handed over together in shared SendMessageBatch calls, each stored once with its attributes', async () => {
    // Prepare
    const { sqs, calls } = recordingSqsClient();
    const queueUrl = await queue(sqs, 'group-commit-together');
    const send = createGroupCommitSender(sqs, queueUrl);
    calls.length = 0;
    const messages = Array.from({ length: 25 }, (_, n) => message(n));
    // Act
    await Promise.all(messages.map((m) => send(m)));
    // Assess
    expect(calls.every((call) => call.command === 'SendMessageBatchCommand')).toBe(true);
    expect(calls.map((call) => call.entries).reduce((a, b) => a + b, 0)).toBe(25);
    expect(calls.length).toBeLessThanOrEqual(3);
    const received = await receiveAll(sqs, queueUrl, 25);
    expect(received.map((m) => m.Body).sort()).toEqual(messages.map((m) => m.MessageBody).sort());
    expect(received.map((m) => m.MessageAttributes?.requestId?.StringValue).sort()).toEqual(messages.map((_, n) => `req-${n}`).sort());
  });

  it('keeps each batch within its byte limit', async () => {
    // Prepare
    const { sqs, calls } = recordingSqsClient();
    const queueUrl = await queue(sqs, 'group-commit-bytes');
    // Each message is 400 bytes of body plus its attribute (about 26 bytes): two fit in 1,000.
    const send = createGroupCommitSender(sqs, queueUrl, { maxBatchBytes: 1_000 });
    calls.length = 0;
    // Act
    await Promise.all(Array.from({ length: 6 }, (_, n) => send(message(n, 400))));
    // Assess
    expect(calls.map((call) => call.entries)).toEqual([2, 2, 2]);
    expect(await receiveAll(sqs, queueUrl, 6)).toHaveLength(6);
  });

  it('refuses only the message SQS refused, naming why, and stores the others of its batch', async () => {
    // Prepare
    const { sqs } = recordingSqsClient();
    const queueUrl = await queue(sqs, 'group-commit-refused');
    const send = createGroupCommitSender(sqs, queueUrl);
    // SQS refuses U+FFFF in a body: a sender fault for that entry alone.
    const refused: QueueMessage = { MessageBody: 'odd \uffff' };
    // Act
    const results = await Promise.allSettled([send(message(1)), send(refused), send(message(3))]);
    // Assess
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/refused the message \(InvalidMessageContents, sender fault/);
    const received = await receiveAll(sqs, queueUrl, 2);
    expect(received.map((m) => m.Body).sort()).toEqual([message(1).MessageBody, message(3).MessageBody]);
  });

  it('sends again after a backoff, and then stores, a message SQS failed on its own side', async () => {
    // Prepare
    const { sqs, calls } = recordingSqsClient();
    const callTimes: number[] = [];
    sqs.middlewareStack.add(
      (next) => async (args) => {
        callTimes.push(performance.now());
        return next(args);
      },
      { step: 'initialize', name: 'timeCalls' },
    );
    const queueUrl = await queue(sqs, 'group-commit-server-fault');
    // The first batch's answer reports its second entry as failed on SQS's side, as SQS does for an internal error.
    let faulted = false;
    sqs.middlewareStack.add(
      (next) => async (args) => {
        const result = await next(args);
        const output = result.output as SendMessageBatchResult;
        if (!faulted && output.Successful !== undefined) {
          faulted = true;
          output.Successful = output.Successful.filter((entry) => entry.Id !== '1');
          output.Failed = [{ Id: '1', SenderFault: false, Code: 'InternalError', Message: 'injected' }];
        }
        return result;
      },
      { step: 'initialize', name: 'failOneEntry' },
    );
    const send = createGroupCommitSender(sqs, queueUrl, { entryRetryDelayMs: 200 });
    calls.length = 0;
    callTimes.length = 0;
    // Act
    const results = await Promise.allSettled([send(message(1)), send(message(2)), send(message(3))]);
    // Assess
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    expect(calls).toEqual([
      { command: 'SendMessageBatchCommand', entries: 3 },
      { command: 'SendMessageCommand', entries: 1 },
    ]);
    // At least half the 200 ms delay between the failed batch and the resend.
    expect(callTimes[1]! - callTimes[0]!).toBeGreaterThanOrEqual(100);
  });

  it('gives a message SQS failed on its side up once it has had its sends, naming the failure', async () => {
    // Prepare
    const { sqs } = recordingSqsClient();
    const queueUrl = await queue(sqs, 'group-commit-server-fault-final');
    sqs.middlewareStack.add(
      (next) => async (args) => {
        const result = await next(args);
        const output = result.output as SendMessageBatchResult;
        if (output.Successful !== undefined) {
          output.Successful = output.Successful.filter((entry) => entry.Id !== '0');
          output.Failed = [{ Id: '0', SenderFault: false, Code: 'InternalError', Message: 'injected' }];
        }
        return result;
      },
      { step: 'initialize', name: 'failFirstEntry' },
    );
    const send = createGroupCommitSender(sqs, queueUrl, { maxEntryAttempts: 1 });
    // Act
    const results = await Promise.allSettled([send(message(1)), send(message(2))]);
    // Assess
    expect(results[0]).toMatchObject({ status: 'rejected' });
    expect(String((results[0] as PromiseRejectedResult).reason)).toMatch(/refused the message \(InternalError: injected\)/);
    expect(results[1]).toMatchObject({ status: 'fulfilled' });
  });

  it('sends a batch SQS keeps failing on its side three times in all (the default), then refuses its messages', async () => {
    // Prepare: every entry of every batch comes back failed on SQS's side, and nothing else waits,
    // so the two messages go again together each time.
    const { sqs, calls } = recordingSqsClient();
    const queueUrl = await queue(sqs, 'group-commit-server-fault-default');
    sqs.middlewareStack.add(
      (next) => async (args) => {
        const result = await next(args);
        const output = result.output as SendMessageBatchResult;
        if (output.Successful !== undefined) {
          output.Failed = output.Successful.map((entry) => ({ Id: entry.Id, SenderFault: false, Code: 'InternalError', Message: 'injected' }));
          output.Successful = [];
        }
        return result;
      },
      { step: 'initialize', name: 'failEveryEntry' },
    );
    const send = createGroupCommitSender(sqs, queueUrl, { entryRetryDelayMs: 5 });
    calls.length = 0;
    // Act
    const results = await Promise.allSettled([send(message(1)), send(message(2))]);
    // Assess
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(calls).toEqual(Array.from({ length: 3 }, () => ({ command: 'SendMessageBatchCommand', entries: 2 })));
  });

  it('refuses every message of a call that fails as a whole', async () => {
    // Prepare
    const { sqs } = recordingSqsClient();
    const send = createGroupCommitSender(sqs, `${stack.emulatorUrl}/000000000000/no-such-queue-${process.pid}`);
    // Act
    const results = await Promise.allSettled([send(message(1)), send(message(2))]);
    // Assess
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});
