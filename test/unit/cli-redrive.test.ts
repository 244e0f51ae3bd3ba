import { beforeEach, describe, expect, it, vi } from 'vitest';
import { runCli } from '../fixtures/run-cli';

/** What the queues were asked, in order, and what SQS answers a batch with. */
const calls: Array<{ command: string; entries: unknown }> = [];
let dlq: Array<{ MessageId: string; Body: string; ReceiptHandle: string }> = [];
let failedSends: string[] = [];

// The redrive's target, with an SQS client that answers as SQS does: a batch call succeeds (200)
// and lists the entries it could not take.
vi.mock('../../cli/async-target', () => ({
  resolveAsyncTarget: () => ({
    description: 'a test double',
    queueUrl: 'https://sqs.example/requests',
    deadLetterQueueUrl: 'https://sqs.example/requests-dlq',
    sqs: {
      send: async (command: { constructor: { name: string }; input: { Entries?: Array<{ Id: string; MessageBody?: string; ReceiptHandle?: string }> } }) => {
        const name = command.constructor.name;
        const entries = command.input.Entries;
        calls.push({ command: name, entries: entries?.map((entry) => entry.MessageBody ?? entry.ReceiptHandle) });
        if (name === 'ReceiveMessageCommand') return { Messages: dlq.splice(0, 10) };
        if (name === 'SendMessageBatchCommand') {
          const failed = entries!.filter((entry) => failedSends.includes(entry.MessageBody!));
          return {
            Successful: entries!.filter((entry) => !failed.includes(entry)).map((entry) => ({ Id: entry.Id, MessageId: `sent-${entry.Id}` })),
            Failed: failed.map((entry) => ({ Id: entry.Id, Code: 'InternalError', SenderFault: false })),
          };
        }
        if (name === 'DeleteMessageBatchCommand') return { Successful: entries!.map((entry) => ({ Id: entry.Id })), Failed: [] };
        throw new Error(`unexpected ${name}`);
      },
    },
  }),
}));

describe('modelgate submit redrive', () => {
  beforeEach(() => {
    calls.length = 0;
    dlq = [
      { MessageId: 'm1', Body: 'one', ReceiptHandle: 'r1' },
      { MessageId: 'm2', Body: 'two', ReceiptHandle: 'r2' },
    ];
    failedSends = [];
  });

  it('deletes from the DLQ only the messages the request queue took, and says what stayed (exit 1)', async () => {
    // Prepare: SQS takes "one" and fails "two" inside the same batch.
    failedSends = ['two'];
    // Act
    const result = await runCli(['submit', 'redrive', '--json']);
    // Assess: "two" was never deleted, so it is still in the DLQ.
    expect(calls.filter((call) => call.command === 'DeleteMessageBatchCommand')).toEqual([{ command: 'DeleteMessageBatchCommand', entries: ['r1'] }]);
    expect(JSON.parse(result.stdout)).toEqual({ moved: 1, notSent: 1, sentButKept: 0 });
    expect(result.code).toBe(1);
  });

  it('moves every message when every send succeeds (exit 0)', async () => {
    const result = await runCli(['submit', 'redrive']);
    expect(calls.filter((call) => call.command === 'DeleteMessageBatchCommand')).toEqual([{ command: 'DeleteMessageBatchCommand', entries: ['r1', 'r2'] }]);
    expect(result.stdout).toBe('Moved 2 message(s) from the DLQ back to the request queue.\n');
    expect(result.code).toBe(0);
  });
});
