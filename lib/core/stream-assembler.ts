import type { ModelChunk, ModelInput } from './model-call';
import type { ChatCompletionChunk, CompletionChunk, OpenAiUsage } from './openai-api';
import { chatPromptText, completionPromptText, openAiUsage, tokenUsage, type TokenUsage } from './token-usage';

interface ChoiceSoFar {
  text: string;
  finishReason: string | null;
}

/**
 * Follows a streamed answer chunk by chunk: decides what is relayed to the caller, keeps the text
 * so the audit record holds the whole answer, and counts tokens the way the non-streamed call
 * would (the backend's usage chunk, or the same estimate from the same text).
 */
export class StreamAssembler {
  private readonly choices = new Map<number, ChoiceSoFar>();
  private reported: OpenAiUsage | undefined;
  private id = '';
  private created = 0;
  private readonly callerWantsUsage: boolean;

  constructor(
    private readonly endpointName: string,
    private readonly input: ModelInput,
  ) {
    const options = input.task === 'chat' || input.task === 'completions' ? input.request.stream_options : undefined;
    this.callerWantsUsage = options?.include_usage === true;
  }

  /** Takes in one chunk; returns what to relay (the endpoint as `model`), or nothing. */
  absorb(chunk: ModelChunk): ModelChunk | undefined {
    if (this.id === '') {
      this.id = chunk.id;
      this.created = chunk.created;
    }
    if (chunk.usage) this.reported = chunk.usage;
    const pieces =
      chunk.object === 'chat.completion.chunk'
        ? chunk.choices.map((choice) => ({ index: choice.index, text: choice.delta.content ?? '', finish: choice.finish_reason }))
        : chunk.choices.map((choice) => ({ index: choice.index, text: choice.text, finish: choice.finish_reason }));
    for (const piece of pieces) {
      const soFar = this.choices.get(piece.index) ?? { text: '', finishReason: null };
      soFar.text += piece.text;
      if (piece.finish) soFar.finishReason = piece.finish;
      this.choices.set(piece.index, soFar);
    }
    // Backends are asked for usage whether or not the caller was; OpenAI sends it only on request.
    if (chunk.choices.length === 0 && chunk.usage && !this.callerWantsUsage) return undefined;
    const relayed = { ...chunk, model: this.endpointName };
    if (!this.callerWantsUsage) delete relayed.usage;
    return relayed;
  }

  /** The usage chunk the caller asked for, when the backend sent none: modelgate's estimate. */
  closingUsageChunk(): ModelChunk | undefined {
    if (!this.callerWantsUsage || this.reported !== undefined) return undefined;
    const usage = openAiUsage(this.usage());
    const base = { id: this.id, created: this.created, model: this.endpointName, choices: [], usage };
    return this.input.task === 'chat'
      ? ({ ...base, object: 'chat.completion.chunk' } satisfies ChatCompletionChunk)
      : ({ ...base, object: 'text_completion' } satisfies CompletionChunk);
  }

  usage(): TokenUsage {
    const output = (): string => [...this.choices.values()].map((choice) => choice.text).join('');
    const { input } = this;
    if (input.task === 'chat') return tokenUsage(this.reported, () => chatPromptText(input.request), output);
    if (input.task === 'completions') return tokenUsage(this.reported, () => completionPromptText(input.request), output);
    return tokenUsage(this.reported, () => '', output);
  }

  /** The whole answer as the non-streamed call would have returned it, for the audit log. */
  assembled(): Record<string, unknown> {
    const choices = [...this.choices.entries()]
      .sort(([a], [b]) => a - b)
      .map(([index, choice]) =>
        this.input.task === 'chat'
          ? { index, message: { role: 'assistant', content: choice.text }, finish_reason: choice.finishReason }
          : { index, text: choice.text, finish_reason: choice.finishReason },
      );
    return {
      id: this.id,
      object: this.input.task === 'chat' ? 'chat.completion' : 'text_completion',
      created: this.created,
      model: this.endpointName,
      choices,
      usage: openAiUsage(this.usage()),
    };
  }
}
