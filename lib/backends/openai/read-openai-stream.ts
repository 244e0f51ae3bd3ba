import type { z } from 'zod';
import { describeIssues } from '../../core/describe-issues';
import type { OpenAiUsage } from '../../core/openai-api';
import { MalformedStreamError, readServerSentEvents } from '../provider-http/server-sent-events';
import { badBackendResponse, translateFetchFailure } from '../provider-http/provider-fetch';
import type { OpenAiAnswer } from './openai-client';
import { openAiStreamError } from './errors';

/** The fields of a streamed chunk the reader looks at. */
interface StreamedChunk {
  choices: unknown[];
  usage?: OpenAiUsage | null | undefined;
}

/**
 * Reads an OpenAI-style stream (`data: {chunk}` events, then `data: [DONE]`), checking each chunk
 * against `schema`, and yields the chunks. Usage is normalised to the backend contract: chunks
 * with choices are yielded without `usage`, and the last usage the server reported is yielded
 * once at the end, in a chunk with no choices. An error event, a malformed chunk, a broken
 * connection or an end without `[DONE]` throws from the `next()` that meets it.
 */
export async function* readOpenAiStream<Chunk extends StreamedChunk>(
  answer: OpenAiAnswer,
  schema: z.ZodType<Chunk>,
): AsyncGenerator<Chunk> {
  const { response, context, apiKey } = answer;
  let usageChunk: Chunk | undefined;
  let finished = false;
  try {
    for await (const event of readServerSentEvents(response.body)) {
      if (event.data === '[DONE]') {
        finished = true;
        response.keepConnection();
        break;
      }
      let payload: unknown;
      try {
        payload = JSON.parse(event.data);
      } catch (error) {
        throw badBackendResponse(context.entity, `stream event is not JSON: ${event.data.slice(0, 200)}`, error);
      }
      const reported = openAiStreamError(payload, context, apiKey);
      if (reported !== undefined) throw reported;
      const parsed = schema.safeParse(payload);
      if (!parsed.success) throw badBackendResponse(context.entity, `stream chunk does not fit the protocol: ${describeIssues(parsed.error.issues)}`);
      const chunk = parsed.data;
      if (chunk.usage) usageChunk = { ...chunk, choices: [] };
      if (chunk.choices.length > 0) {
        const { usage: _usage, ...withoutUsage } = chunk;
        yield withoutUsage as Chunk;
      } else if (!chunk.usage) {
        yield chunk;
      }
    }
  } catch (error) {
    if (error instanceof MalformedStreamError) throw badBackendResponse(context.entity, error.message, error);
    throw translateFetchFailure(error, context);
  }
  // A stream that stops without [DONE] was cut off; ending cleanly would pass off half an answer.
  if (!finished) throw badBackendResponse(context.entity, 'stream ended without [DONE]');
  if (usageChunk !== undefined) yield usageChunk;
}
