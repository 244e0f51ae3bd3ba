/**
 * SQS refuses U+FFFE and U+FFFF in message text, which JSON text may hold as they are (a body, a
 * user agent, a caller-chosen endpoint name); escaped, they travel as the same JSON value, so no
 * caller can make a request unauditable or unbillable by sending them.
 */
export function escapeForSqs(jsonText: string): string {
  return jsonText.replace(/[\uFFFE\uFFFF]/g, (char) => `\\u${char.charCodeAt(0).toString(16)}`);
}

/** A value as JSON text SQS takes. */
export function sqsSafeJson(value: unknown): string {
  return escapeForSqs(JSON.stringify(value));
}
