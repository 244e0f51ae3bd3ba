/** One message of a conversation, reduced to what the toy model reads: who said it, and its text. */
export interface ConversationTurn {
  readonly role: string;
  readonly text: string;
}

/**
 * The prompt the toy model "sees" for a conversation, as a chat template would lay it out: one
 * `role: text` line per turn, then `assistant:`. Its token count is the conversation's prompt
 * tokens, so the same conversation counts the same on every local server.
 */
export function renderPrompt(turns: readonly ConversationTurn[]): string {
  return `${turns.map((turn) => `${turn.role}: ${turn.text}\n`).join('')}assistant:`;
}

/** The text of the last user turn: what the toy model answers. Empty when no user spoke. */
export function lastUserText(turns: readonly ConversationTurn[]): string {
  for (let index = turns.length - 1; index >= 0; index -= 1) {
    const turn = turns[index];
    if (turn?.role === 'user') return turn.text;
  }
  return '';
}
