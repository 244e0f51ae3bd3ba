import { tokenize } from './tokens';

/** Limits a request puts on the answer. */
export interface GenerationLimits {
  /** At most this many tokens are generated. */
  readonly maxTokens?: number | undefined;
  /** The answer ends before the first of these strings (which is not included). */
  readonly stop?: readonly string[] | undefined;
}

/** What the toy model generated. */
export interface Generation {
  readonly text: string;
  /** The text as token pieces, in order: what a stream sends one by one. */
  readonly pieces: readonly string[];
  readonly completionTokens: number;
  /** `stop` when the answer ended by itself or at a stop sequence; `length` when `maxTokens` cut it. */
  readonly finishReason: 'stop' | 'length';
  /** The stop sequence the answer ended at, if one did. */
  readonly stopSequence: string | undefined;
}

/**
 * The toy model's whole behaviour: it answers `You said: <text>` (or `You said nothing.`), so a
 * test can tell from the answer what the model was given. Deterministic; temperature and the
 * like are accepted by the servers and ignored here.
 */
export function generate(userText: string, limits: GenerationLimits = {}): Generation {
  const trimmed = userText.trim();
  const full = trimmed === '' ? 'You said nothing.' : `You said: ${trimmed}`;

  let text = full;
  let stopSequence: string | undefined;
  for (const sequence of limits.stop ?? []) {
    const at = sequence === '' ? -1 : full.indexOf(sequence);
    if (at >= 0 && at < text.length) {
      text = full.slice(0, at);
      stopSequence = sequence;
    }
  }

  const pieces = tokenize(text);
  if (limits.maxTokens !== undefined && pieces.length > limits.maxTokens) {
    const kept = pieces.slice(0, limits.maxTokens);
    return { text: kept.join(''), pieces: kept, completionTokens: kept.length, finishReason: 'length', stopSequence: undefined };
  }
  return { text, pieces, completionTokens: pieces.length, finishReason: 'stop', stopSequence };
}
