import type { ModelChunk, ModelInput } from './model-call';
import { PROMPT_TOKENS, type ChatCompletionChunk, type CompletionChunk, type OpenAiUsage } from './openai-api';
import { answerMessageText, chatPromptText, completionPromptText, estimateTokens, openAiUsage, tokenUsage, type TokenUsage } from './token-usage';

/** A tool call as its pieces arrive: id, type and name come first, the arguments in fragments. */
interface ToolCallSoFar {
  id?: string;
  type?: string;
  function: { name: string; arguments: string };
}

interface ChoiceSoFar {
  text: string;
  refusal: string;
  toolCalls: Map<number, ToolCallSoFar>;
  finishReason: string | null;
}

/** One streamed tool call fragment, read from the loose delta as backends send it. */
interface ToolCallDelta {
  index?: unknown;
  id?: unknown;
  type?: unknown;
  function?: { name?: unknown; arguments?: unknown } | null;
}

/**
 * Follows a streamed answer chunk by chunk: decides what is relayed to the caller, keeps the text
 * so the audit record holds the whole answer, and counts tokens the way the non-streamed call
 * would (the backend's usage chunk, or the same estimate from the same text).
 */
export class StreamAssembler {
  private readonly choices = new Map<number, ChoiceSoFar>();
  private reported: OpenAiUsage | undefined;
  /** The prompt's exact count, when the backend gave it before its usage chunk ({@link PROMPT_TOKENS}). */
  private promptTokens: number | undefined;
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
    const promptTokens = (chunk as { [PROMPT_TOKENS]?: unknown })[PROMPT_TOKENS];
    if (typeof promptTokens === 'number') this.promptTokens = promptTokens;
    if (chunk.object === 'chat.completion.chunk') {
      for (const choice of chunk.choices) {
        const soFar = this.choiceAt(choice.index, choice.finish_reason);
        soFar.text += choice.delta.content ?? '';
        if (typeof choice.delta.refusal === 'string') soFar.refusal += choice.delta.refusal;
        if (Array.isArray(choice.delta.tool_calls)) addToolCallDeltas(soFar, choice.delta.tool_calls as Array<ToolCallDelta | null>);
      }
    } else {
      for (const choice of chunk.choices) this.choiceAt(choice.index, choice.finish_reason).text += choice.text;
    }
    // Backends are asked for usage whether or not the caller was; OpenAI sends it only on request.
    if (chunk.choices.length === 0 && chunk.usage && !this.callerWantsUsage) return undefined;
    const relayed = { ...chunk, model: this.endpointName };
    if (!this.callerWantsUsage) delete relayed.usage;
    return relayed;
  }

  private choiceAt(index: number, finishReason: string | null | undefined): ChoiceSoFar {
    let soFar = this.choices.get(index);
    if (!soFar) this.choices.set(index, (soFar = { text: '', refusal: '', toolCalls: new Map(), finishReason: null }));
    if (finishReason) soFar.finishReason = finishReason;
    return soFar;
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
    const output = (): string => [...this.choices.values()].map((choice) => answerMessageText(answerMessage(choice))).join('');
    const { input } = this;
    // Cut short before the usage chunk: the prompt as the backend counted it, the output estimated.
    if (this.reported === undefined && this.promptTokens !== undefined) return { input: this.promptTokens, output: estimateTokens(output()), estimated: true };
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
          ? { index, message: answerMessage(choice), finish_reason: choice.finishReason }
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

/** Merges streamed tool call fragments by their index (their place in the array when a backend sends none). */
function addToolCallDeltas(choice: ChoiceSoFar, deltas: Array<ToolCallDelta | null>): void {
  deltas.forEach((delta, position) => {
    if (delta === null || typeof delta !== 'object') return;
    const index = typeof delta.index === 'number' ? delta.index : position;
    let call = choice.toolCalls.get(index);
    if (!call) choice.toolCalls.set(index, (call = { function: { name: '', arguments: '' } }));
    if (typeof delta.id === 'string' && delta.id !== '') call.id = delta.id;
    if (typeof delta.type === 'string') call.type = delta.type;
    if (typeof delta.function?.name === 'string') call.function.name += delta.function.name;
    if (typeof delta.function?.arguments === 'string') call.function.arguments += delta.function.arguments;
  });
}

/** A streamed choice as the message a non-streamed answer would carry: its text, refusal and tool calls. */
function answerMessage(choice: ChoiceSoFar): Record<string, unknown> {
  const message: Record<string, unknown> = { role: 'assistant', content: choice.text };
  if (choice.refusal !== '') message.refusal = choice.refusal;
  if (choice.toolCalls.size > 0) {
    message.tool_calls = [...choice.toolCalls.entries()].sort(([a], [b]) => a - b).map(([, call]) => call);
  }
  return message;
}
