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

  it('refuses bytes that are not UTF-8, which decoding would turn into other text than the model gets', () => {
    const body = Uint8Array.from([...bytes('{"inputs":["caf'), 0xff, 0xfe, ...bytes('"]}')]);
    expect(() => parseJsonBody(body)).toThrow('Request body is not valid UTF-8');
  });

  it('refuses a number too large for a double, naming where it is, and keeps large ones that fit', () => {
    expect(() => parseJsonBody(bytes('{"instances":[[1, 1e400]]}'))).toThrow('instances[0][1]: a number too large for a double');
    expect(() => parseJsonBody(bytes(`{"x":${'9'.repeat(400)}}`))).toThrow('x: a number too large');
    // Long digit runs with short exponents overflow too.
    for (const number of [`1${'0'.repeat(299)}e10`, `${'9'.repeat(308)}e1`, `${'1'.repeat(250)}.5e60`]) {
      expect(() => parseJsonBody(bytes(`{"x":[${number}]}`))).toThrow('x[0]: a number too large');
    }
    expect(parseJsonBody(bytes('{"x":1e308,"text":"e123 and 1e999 inside a string"}'))).toEqual({ x: 1e308, text: 'e123 and 1e999 inside a string' });
  });

  it('scans a body of 5,000 long digit runs in under half a second', () => {
    const text = `{"x":[${Array.from({ length: 5_000 }, () => '1'.repeat(308)).join(',')}]}`;
    const started = performance.now();
    parseJsonBody(bytes(text));
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('walks a large body that the scan flags (a hash in a string) (5.6 MB, 1.9 million values) in under a second', () => {
    const text = `{"id":"e3b0c442e123","x":[${Array.from({ length: 1_900_000 }, (_, i) => i % 100).join(',')}]}`;
    const started = performance.now();
    parseJsonBody(bytes(text));
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});
