/**
 * The toy model's own tokenizer: a token is a run of letters or digits, or one other visible
 * character, together with the whitespace before it. It is not OpenAI's or Anthropic's
 * tokenizer, only a stable, explainable count: `"Hello, world!"` is 4 tokens
 * (`Hello` `,` ` world` `!`), and the pieces always join back to the text.
 */
const tokenPattern = /\s*(?:[\p{L}\p{N}]+|[^\s\p{L}\p{N}])/gu;

/** Splits text into token pieces whose concatenation is the text (trailing spaces go to the last one). */
export function tokenize(text: string): string[] {
  const pieces = text.match(tokenPattern) ?? [];
  const consumed = pieces.reduce((length, piece) => length + piece.length, 0);
  if (consumed < text.length && pieces.length > 0) {
    // Only whitespace can be left over, and only at the end.
    pieces[pieces.length - 1] += text.slice(consumed);
  }
  return pieces;
}

/** How many tokens the toy model counts in a text; whitespace alone counts 0. */
export function countTokens(text: string): number {
  return text.match(tokenPattern)?.length ?? 0;
}
