/**
 * How deep a request's arrays and objects may nest. Model inputs nest a few levels (a batch of
 * images is four); the walks over a request (guardrails, redaction, schema checks, the audit
 * record's text) recurse, and a body nested thousands deep would overflow the stack there
 * instead of being refused at the edge.
 */
export const MAX_JSON_NESTING = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACKET = 0x5d;
const CLOSE_BRACE = 0x7d;

/**
 * The deepest nesting of arrays and objects in valid JSON text (UTF-8 bytes), brackets inside
 * strings aside. One pass over the bytes, no allocation.
 */
export function jsonNesting(text: Uint8Array): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const byte = text[i]!;
    if (inString) {
      if (byte === BACKSLASH) i += 1;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) {
      inString = true;
    } else if (byte === OPEN_BRACKET || byte === OPEN_BRACE) {
      depth += 1;
      if (depth > deepest) deepest = depth;
    } else if (byte === CLOSE_BRACKET || byte === CLOSE_BRACE) {
      depth -= 1;
    }
  }
  return deepest;
}
