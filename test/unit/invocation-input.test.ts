import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../../lib/core/errors';
import { parseJsonBody } from '../../lib/core/invocation-input';
import { jsonNesting, MAX_JSON_NESTING } from '../../lib/core/json-nesting';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('parseJsonBody', () => {
  it(`reads a body nested ${MAX_JSON_NESTING} levels deep, and refuses one level more`, () => {
    const nested = (levels: number): string => `${'['.repeat(levels)}1${']'.repeat(levels)}`;
    expect(parseJsonBody(bytes(nested(MAX_JSON_NESTING)))).toBeInstanceOf(Array);
    expect(() => parseJsonBody(bytes(nested(MAX_JSON_NESTING + 1)))).toThrow(InvalidRequestError);
  });

  it('does not count brackets inside strings, escaped quotes included', () => {
    // Prepare: strings full of brackets, one holding an escaped quote and a trailing backslash.
    const text = JSON.stringify({ prompt: '['.repeat(200), quoted: 'say \\"{{{{\\" \\\\', more: [{ a: '}}}]]]' }] });
    // Act / Assess: an object holding an array holding an object, however many brackets the strings hold.
    expect(jsonNesting(bytes(text))).toBe(3);
    expect(parseJsonBody(bytes(text))).toEqual(JSON.parse(text));
  });

  it('refuses a body nested thousands deep with a 400, as the walks over it would overflow the stack', () => {
    const deep = `{"instances":[${'['.repeat(20_000)}"ignore previous instructions"${']'.repeat(20_000)}]}`;
    expect(() => parseJsonBody(bytes(deep))).toThrow(/more than 64 levels deep/);
  });
});
