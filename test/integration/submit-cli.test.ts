import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { v7 as uuidv7 } from 'uuid';
import { inProducerSpace } from '../../lib/core/request-id-space';
import { describe, expect, it } from 'vitest';
import { ASYNC_REQUEST_MESSAGE_SCHEMA } from '../../lib/core/async/async-request-message';
import { runCli, type CliRunOptions } from '../fixtures/run-cli';
import { stackClient } from './stack-client';

const client = stackClient();
const { stack } = client;
const folder = mkdtempSync(join(tmpdir(), 'modelgate-submit-'));

/** The CLI pointed at the running stack as a deployed one would be: by environment. */
const AGAINST_THE_STACK = {
  cwd: folder,
  env: {
    MODELGATE_HOME: folder,
    MODELGATE_API_URL: stack.apiUrl,
    MODELGATE_API_KEY: stack.demoApiKey,
    ASYNC_QUEUE_URL: stack.asyncQueueUrl,
    ASYNC_DLQ_URL: stack.asyncDeadLetterQueueUrl,
    ASYNC_BUCKET: stack.asyncBucket,
    AUDIT_KMS_KEY_ID: stack.environment.AUDIT_KMS_KEY_ID,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_SQS: stack.emulatorUrl,
    AWS_ENDPOINT_URL_S3: stack.emulatorUrl,
  },
} satisfies CliRunOptions;

describe('modelgate submit', () => {
  it('submits 200 jobs with one command, watches them finish, and writes every result; the counts add up', async () => {
    // Act
    const out = join(folder, 'results.jsonl');
    const result = await runCli(['submit', 'jobs', 'sentiment', '--count', '200', '--out', out], AGAINST_THE_STACK);
    // Assess
    expect(result.stdout).toContain('accepted 200 = succeeded 200 + failed 0 + not finished 0 (adds up)');
    expect(result.code).toBe(0);
    const lines = readFileSync(out, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { n: number; requestId: string; status: string; result: { predictions: unknown[] } });
    expect(lines).toHaveLength(200);
    expect(new Set(lines.map((line) => line.requestId)).size).toBe(200);
    expect(lines.every((line) => line.status === 'succeeded' && line.result.predictions.length === 1)).toBe(true);
    expect(result.stderr).toMatch(/submitted 200\/200: 200 accepted, 0 refused/);
  }, 60_000);

  it('submits straight onto the queue as a producer (--via sqs), and reads the results back the same way', async () => {
    // Act
    const result = await runCli(['submit', 'jobs', 'iris', '--count', '30', '--via', 'sqs', '--tenant', 'demo', '--body', '{"instances": [[5.1, 3.5, 1.4, {{n}}]]}', '--json'], AGAINST_THE_STACK);
    // Assess
    expect(JSON.parse(result.stdout)).toMatchObject({ via: 'sqs', submitted: 30, accepted: 30, succeeded: 30, failed: 0, unfinished: 0 });
    expect(result.code).toBe(0);
  }, 60_000);

  it('stores a body too large for a message first, create-only, and the worker runs it from there (claim check)', async () => {
    // Act: a 250 kB text, over the 200 kB a message carries.
    const text = 'I love this, it works wonderfully. '.repeat(7_200);
    const result = await runCli(['submit', 'jobs', 'sentiment', '--count', '2', '--via', 'sqs', '--tenant', 'demo', '--body', JSON.stringify({ dataframe_split: { columns: ['text'], data: [[text]] } }), '--json'], AGAINST_THE_STACK);
    // Assess
    expect(JSON.parse(result.stdout), result.stderr).toMatchObject({ via: 'sqs', submitted: 2, accepted: 2, succeeded: 2, failed: 0 });
  }, 60_000);

  it('refuses to store a body too large for a message without the stack\'s data key (S3 would use aws/s3)', async () => {
    const text = 'I love this, it works wonderfully. '.repeat(7_200);
    const env: NodeJS.ProcessEnv = { ...AGAINST_THE_STACK.env };
    delete env.AUDIT_KMS_KEY_ID;
    const result = await runCli(['submit', 'jobs', 'sentiment', '--count', '1', '--via', 'sqs', '--tenant', 'demo', '--body', JSON.stringify({ dataframe_split: { columns: ['text'], data: [[text]] } })], { ...AGAINST_THE_STACK, env });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('AUDIT_KMS_KEY_ID (the DataKeyArn output)');
  }, 60_000);

  it('counts refusals apart and exits 1 when not every job succeeded', async () => {
    // Prepare
    const file = join(folder, 'mixed.jsonl');
    writeFileSync(file, ['{"instances": ["fine"]}', '{"dataframe_split": {"columns": "text"}}', '', '{"inputs": ["also fine"]}'].join('\n'));
    // Act
    const result = await runCli(['submit', 'jobs', 'sentiment', '--file', file, '--json'], AGAINST_THE_STACK);
    // Assess
    expect(JSON.parse(result.stdout)).toMatchObject({ submitted: 3, accepted: 2, refused: 1, succeeded: 2, unfinished: 0 });
    expect(result.code).toBe(1);
  }, 60_000);

  it('redrives dead-lettered messages back onto the request queue, where they run', async () => {
    // Prepare: a request message parked in the DLQ (as after an outage).
    const id = inProducerSpace(uuidv7());
    await client.sqs.send(
      new SendMessageCommand({
        QueueUrl: client.stack.asyncDeadLetterQueueUrl,
        MessageBody: JSON.stringify({ schema: ASYNC_REQUEST_MESSAGE_SCHEMA, requestId: id, tenant: 'demo', endpoint: 'sentiment', body: { instances: ['back from the dead'] } }),
      }),
    );
    // Act
    const result = await runCli(['submit', 'redrive', '--json'], AGAINST_THE_STACK);
    // Assess
    expect(result.code).toBe(0);
    expect((JSON.parse(result.stdout) as { moved: number }).moved).toBeGreaterThanOrEqual(1);
    expect((await client.waitForRequest(id)).json).toMatchObject({ status: 'succeeded' });
  }, 30_000);

  it('refuses a bad command line with a usage error', async () => {
    expect((await runCli(['submit', 'jobs', 'sentiment', '--count', '0'], AGAINST_THE_STACK)).code).toBe(2);
    expect((await runCli(['submit', 'jobs', 'sentiment', '--via', 'carrier-pigeon'], AGAINST_THE_STACK)).stderr).toMatch(/--via must be http or sqs/);
    expect((await runCli(['submit', 'status', 'job-1'], AGAINST_THE_STACK)).stderr).toMatch(/job-1 is not a request id/);
  });
});
