import { describe, expect, it } from 'vitest';
import { describeIssues } from '../../lib/core/describe-issues';
import { chatCompletionRequestSchema, completionRequestSchema, embeddingsRequestSchema } from '../../lib/core/openai-api';

const messages = [{ role: 'user', content: 'Hi' }];

describe('describeIssues: what a caller is told about a body that does not fit', () => {
  it.each([
    ['two prompts', completionRequestSchema, { model: 'm', prompt: ['a', 'b'] }, 'prompt: only one prompt per request is served'],
    ['a prompt of no type it takes', completionRequestSchema, { model: 'm', prompt: 5 }, 'prompt: Invalid input: expected string or array'],
    ['five stop sequences', chatCompletionRequestSchema, { model: 'm', messages, stop: ['a', 'b', 'c', 'd', 'e'] }, 'stop: Too big: expected array to have <=4 items'],
    [
      'an image part without its URL',
      chatCompletionRequestSchema,
      { model: 'm', messages: [{ role: 'user', content: [{ type: 'image_url' }] }] },
      'messages[0].content[0].image_url: Invalid input: expected object, received undefined',
    ],
    [
      'a content part of a type OpenAI does not have',
      chatCompletionRequestSchema,
      { model: 'm', messages: [{ role: 'user', content: [{ type: 'video' }] }] },
      "messages[0].content[0].type: Invalid discriminator value. Expected 'text' | 'image_url' | 'input_audio' | 'file' | 'refusal'",
    ],
    ['3,000 inputs to embed', embeddingsRequestSchema, { model: 'm', input: Array.from({ length: 3_000 }, () => 'a') }, 'input: Too big: expected array to have <=2048 items'],
  ])('names the field and the problem of the shape it came closest to: %s', (_case, schema, body, expected) => {
    const parsed = schema.safeParse(body);
    expect(parsed.success).toBe(false);
    expect(describeIssues(parsed.error!.issues)).toBe(expected);
  });
});
