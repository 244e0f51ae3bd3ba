import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stackClient } from './stack-client';
import { startTestGateway, type TestGateway } from './test-gateway';

const client = stackClient();
const QUESTION = [{ role: 'user' as const, content: 'Please summarise the quarterly audit' }];

/** The official OpenAI client, pointed at a modelgate API. */
function openai(apiUrl = client.stack.apiUrl, apiKey = client.stack.demoApiKey): OpenAI {
  return new OpenAI({ baseURL: `${apiUrl}/v1`, apiKey, maxRetries: 0, timeout: 15_000 });
}

describe('the official openai client through modelgate', () => {
  afterEach(async () => {
    await client.setFault('chat-llm-v1', undefined);
    await client.setProviderFault('openai', 'toy-gpt', undefined);
  });

  it('gets a chat completion from the SageMaker primary, with its token counts in the audit record and usage event', async () => {
    // Act
    const { data: answer, response } = await openai().chat.completions.create({ model: 'assistant', messages: QUESTION }).withResponse();
    // Assess
    expect(answer.choices[0]?.message.content).toContain('Please summarise the quarterly audit');
    expect(answer.model).toBe('assistant');
    expect(answer.usage?.prompt_tokens).toBeGreaterThan(0);
    const requestId = response.headers.get('x-request-id')!;
    expect(response.headers.get('x-modelgate-served-entity')).toBe('llm-sagemaker');
    const audit = await client.auditObject(requestId);
    expect(audit?.record).toMatchObject({
      servedEntity: 'llm-sagemaker',
      units: { kind: 'tokens', input: answer.usage!.prompt_tokens, output: answer.usage!.completion_tokens, estimated: false },
    });
    const [usage] = await client.usageEvents(requestId);
    expect(usage).toMatchObject({ servedEntity: 'llm-sagemaker', units: { kind: 'tokens', input: answer.usage!.prompt_tokens } });
  });

  it('streams a chat completion as Server-Sent Events, counted exactly like the same call unstreamed', async () => {
    // Act
    const { data: stream, response } = await openai()
      .chat.completions.create({ model: 'assistant', messages: QUESTION, stream: true, stream_options: { include_usage: true } })
      .withResponse();
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    const whole = await openai().chat.completions.create({ model: 'assistant', messages: QUESTION });
    // Assess
    expect(text).toBe(whole.choices[0]?.message.content);
    expect(usage).toEqual(whole.usage);
    const requestId = response.headers.get('x-request-id')!;
    const [event] = await client.usageEvents(requestId);
    expect(event?.units).toEqual({ kind: 'tokens', input: whole.usage!.prompt_tokens, output: whole.usage!.completion_tokens, estimated: false });
    expect((await client.auditObject(requestId))?.record).toMatchObject({ streamed: true, status: 200 });
  });

  it('falls back to the external provider when the SageMaker primary fails, and records who answered', async () => {
    // Prepare
    await client.setFault('chat-llm-v1', { kind: 'unavailable' });
    // Act
    const { data: answer, response } = await openai().chat.completions.create({ model: 'assistant', messages: QUESTION }).withResponse();
    // Assess
    expect(response.headers.get('x-modelgate-served-entity')).toBe('gpt-external');
    const requestId = response.headers.get('x-request-id')!;
    const audit = (await client.auditObject(requestId))!.record;
    expect(audit.servedEntity).toBe('gpt-external');
    expect(audit.attempts.map((attempt) => attempt.entity)).toEqual(['llm-sagemaker', 'llm-sagemaker', 'gpt-external']);
    expect(audit.units).toEqual({ kind: 'tokens', input: answer.usage!.prompt_tokens, output: answer.usage!.completion_tokens, estimated: false });
    const [usage] = await client.usageEvents(requestId);
    expect(usage?.servedEntity).toBe('gpt-external');
  });

  it('falls through to Anthropic, translated to OpenAI\'s shape, when both others fail', async () => {
    await client.setFault('chat-llm-v1', { kind: 'unavailable' });
    await client.setProviderFault('openai', 'toy-gpt', { kind: 'server-error' });
    const { data: answer, response } = await openai().chat.completions.create({ model: 'assistant', messages: QUESTION }).withResponse();
    expect(response.headers.get('x-modelgate-served-entity')).toBe('claude-external');
    expect(answer.object).toBe('chat.completion');
    expect(answer.choices[0]?.finish_reason).toBe('stop');
    expect(answer.usage?.total_tokens).toBe(answer.usage!.prompt_tokens + answer.usage!.completion_tokens);
  });

  it('serves completions, streamed and not', async () => {
    const whole = await openai().completions.create({ model: 'writer', prompt: 'Write a haiku about audits', max_tokens: 20 });
    const stream = await openai().completions.create({ model: 'writer', prompt: 'Write a haiku about audits', max_tokens: 20, stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
    expect(whole.object).toBe('text_completion');
    expect(text).toBe(whole.choices[0]?.text);
  });

  it('serves embeddings in the client\'s default base64 encoding and as floats', async () => {
    const decoded = await openai().embeddings.create({ model: 'embed', input: ['audit trail', 'model gateway'] });
    const floats = await openai().embeddings.create({ model: 'embed', input: ['audit trail', 'model gateway'], encoding_format: 'float' });
    expect(decoded.data).toHaveLength(2);
    expect(decoded.data[0]?.embedding.length).toBe(floats.data[0]?.embedding.length);
    decoded.data[0]!.embedding.forEach((value, index) => expect(value).toBeCloseTo(floats.data[0]!.embedding[index]!, 5));
    expect(decoded.usage.prompt_tokens).toBeGreaterThan(0);
  });

  it('answers a bad body with a 400 naming the field, which the client raises as BadRequestError', async () => {
    const failure = await openai()
      .chat.completions.create({ model: 'assistant', messages: [] })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(OpenAI.BadRequestError);
    expect((failure as InstanceType<typeof OpenAI.BadRequestError>).message).toMatch(/messages must not be empty/);
  });

  it('refuses an unknown key (401) and a model that is no endpoint (404)', async () => {
    await expect(openai(client.stack.apiUrl, `mgk_${'x'.repeat(43)}`).chat.completions.create({ model: 'assistant', messages: QUESTION })).rejects.toBeInstanceOf(
      OpenAI.AuthenticationError,
    );
    await expect(openai().chat.completions.create({ model: 'nope', messages: QUESTION })).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });
});

describe('each backend on its own, through modelgate', () => {
  let gateway: TestGateway;

  beforeAll(async () => {
    const { stack } = client;
    gateway = await startTestGateway({
      version: 1,
      endpoints: [
        {
          name: 'only-openai',
          task: 'chat',
          servedEntities: [
            { name: 'gpt', backend: 'openai', model: 'toy-gpt', baseUrl: `${stack.openaiServerUrl}/v1`, apiKey: { ssmParameter: '/modelgate/local/openai-api-key' } },
          ],
        },
        {
          name: 'only-anthropic',
          task: 'chat',
          servedEntities: [
            { name: 'claude', backend: 'anthropic', model: 'toy-claude', baseUrl: stack.anthropicServerUrl, apiKey: { secretsManager: 'modelgate/local/anthropic-api-key' } },
          ],
        },
        {
          name: 'no-usage',
          task: 'chat',
          servedEntities: [
            { name: 'gpt-silent', backend: 'openai', model: 'toy-gpt-no-usage', baseUrl: `${stack.openaiServerUrl}/v1`, apiKey: { ssmParameter: '/modelgate/local/openai-api-key' } },
          ],
        },
      ],
    });
  });

  afterAll(async () => {
    await gateway?.stop();
  });

  it.each(['only-openai', 'only-anthropic'])('%s: the same answer and usage streamed and not', async (model) => {
    const whole = await openai(gateway.url).chat.completions.create({ model, messages: QUESTION });
    const stream = await openai(gateway.url).chat.completions.create({ model, messages: QUESTION, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      usage ??= chunk.usage ?? undefined;
    }
    expect(text).toBe(whole.choices[0]?.message.content);
    expect(usage).toEqual(whole.usage);
  });

  it('estimates, and marks as estimated, the tokens of a provider that reports none — the same streamed or not', async () => {
    const { data: whole, response } = await openai(gateway.url).chat.completions.create({ model: 'no-usage', messages: QUESTION }).withResponse();
    const stream = await openai(gateway.url).chat.completions.create({ model: 'no-usage', messages: QUESTION, stream: true, stream_options: { include_usage: true } });
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) usage ??= chunk.usage ?? undefined;
    expect(response.headers.get('x-modelgate-usage-estimated')).toBe('true');
    expect(usage).toEqual(whole.usage);
    const [event] = await client.usageEvents(response.headers.get('x-request-id')!);
    expect(event?.units).toMatchObject({ kind: 'tokens', estimated: true, input: whole.usage!.prompt_tokens });
  });

  it('stops the provider when the caller leaves mid-stream, and audits the request as 499 cut short at that moment', async () => {
    // Prepare: the provider sends its first event at once, then one every 2 s.
    await client.setProviderFault('openai', 'toy-gpt', { kind: 'slow-stream', intervalMs: 2_000, times: 1 });
    const { data: stream, response } = await openai(gateway.url).chat.completions.create({ model: 'only-openai', messages: QUESTION, stream: true }).withResponse();
    // Act: the caller reads one chunk and hangs up.
    for await (const _chunk of stream) break;
    // Assess: the request ended when the caller left, not when the provider would have sent its next event.
    const audit = (await client.auditObject(response.headers.get('x-request-id')!))?.record;
    expect(audit).toMatchObject({ status: 499, errorCode: 'CLIENT_CLOSED_REQUEST', streamed: true, servedEntity: 'gpt' });
    expect(audit!.latencyMs).toBeLessThan(1_500);
  });

  it('ends a stream the provider cuts after the first chunk with an error the client raises, never a clean end', async () => {
    await client.setProviderFault('openai', 'toy-gpt', { kind: 'stream-cut', afterChunks: 2, times: 1 });
    const stream = await openai(gateway.url).chat.completions.create({ model: 'only-openai', messages: QUESTION, stream: true });
    let chunks = 0;
    const failure = await (async () => {
      for await (const _chunk of stream) chunks += 1;
    })().catch((error: unknown) => error);
    expect(chunks).toBeGreaterThan(0);
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toBe('Served entity gpt could not be reached or dropped the connection');
  });
});
