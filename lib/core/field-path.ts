/**
 * Field paths name places inside an audited body, for an endpoint's redaction policy. They start
 * at `request` or `response` (the body as the caller sent it or as it was answered) and go down
 * with a small JSONPath subset:
 *
 * - `.name` or `["any key"]`: an object member
 * - `[3]`: an array element; `[*]`: every element; `.*`: every member of an object
 * - `..name`: a member named `name` at any depth below
 *
 * e.g. `request.dataframe_records[*].email`, `request..ssn`, `response.predictions[*].explanation`,
 * `request` (the whole request body).
 */
export type FieldPathSegment =
  | { kind: 'member'; name: string }
  | { kind: 'index'; index: number }
  | { kind: 'anyElement' }
  | { kind: 'anyMember' }
  | { kind: 'deepMember'; name: string };

export interface FieldPath {
  body: 'request' | 'response';
  segments: FieldPathSegment[];
  /** The path as written, for messages. */
  source: string;
}

const IDENTIFIER = /^[A-Za-z0-9_$-]+/;

/**
 * Parses a field path.
 * @throws Error whose message says what is wrong and where, for the config validator to show.
 */
export function parseFieldPath(source: string): FieldPath {
  const text = source.startsWith('$.') ? source.slice(2) : source;
  const root = /^(request|response)(?![A-Za-z0-9_$-])/.exec(text);
  if (!root?.[1]) throw new Error('must start with "request" or "response"');
  const segments: FieldPathSegment[] = [];
  let rest = text.slice(root[1].length);
  while (rest.length > 0) {
    if (rest.startsWith('..')) {
      const name = IDENTIFIER.exec(rest.slice(2))?.[0];
      if (!name) throw new Error(`expected a member name after ".." in "${source}"`);
      segments.push({ kind: 'deepMember', name });
      rest = rest.slice(2 + name.length);
    } else if (rest.startsWith('.*')) {
      segments.push({ kind: 'anyMember' });
      rest = rest.slice(2);
    } else if (rest.startsWith('.')) {
      const name = IDENTIFIER.exec(rest.slice(1))?.[0];
      if (!name) throw new Error(`expected a member name after "." in "${source}"`);
      segments.push({ kind: 'member', name });
      rest = rest.slice(1 + name.length);
    } else if (rest.startsWith('[*]')) {
      segments.push({ kind: 'anyElement' });
      rest = rest.slice(3);
    } else if (rest.startsWith('["') || rest.startsWith("['")) {
      const quote = rest[1]!;
      const end = rest.indexOf(`${quote}]`, 2);
      if (end === -1) throw new Error(`unterminated quoted member in "${source}"`);
      segments.push({ kind: 'member', name: rest.slice(2, end) });
      rest = rest.slice(end + 2);
    } else if (/^\[\d+\]/.test(rest)) {
      const digits = /^\[(\d+)\]/.exec(rest)![1]!;
      segments.push({ kind: 'index', index: Number(digits) });
      rest = rest.slice(digits.length + 2);
    } else {
      throw new Error(`unexpected "${rest.slice(0, 12)}" in "${source}"`);
    }
  }
  return { body: root[1] as FieldPath['body'], segments, source };
}

/** What to do with the values a path reaches: remove them, or replace them with a marker. */
export type FieldAction = 'drop' | 'mask';

/** The marker a masked field's value becomes. */
export const MASKED_FIELD = '[REDACTED]';

/**
 * Applies `action` to every value `segments` reach inside `root`, mutating it in place (callers
 * pass their own copy). Returns how many values were dropped or masked. A dropped array element
 * is removed from the array.
 */
export function applyFieldPath(root: unknown, segments: readonly FieldPathSegment[], action: FieldAction): number {
  if (segments.length === 0) return 0;
  return visit(root, segments, 0, action);
}

function visit(node: unknown, segments: readonly FieldPathSegment[], at: number, action: FieldAction): number {
  const segment = segments[at]!;
  const last = at === segments.length - 1;
  if (node === null || typeof node !== 'object') return 0;

  if (segment.kind === 'deepMember') {
    let count = 0;
    const children = Array.isArray(node) ? node : Object.values(node);
    // Match at this level first, then look further down (including below a matched member).
    if (!Array.isArray(node) && Object.hasOwn(node, segment.name)) {
      count += last ? act(node as Record<string, unknown>, segment.name, action) : visit((node as Record<string, unknown>)[segment.name], segments, at + 1, action);
    }
    for (const child of children) count += visit(child, segments, at, action);
    return count;
  }

  if (Array.isArray(node)) {
    if (segment.kind === 'index') {
      if (segment.index >= node.length) return 0;
      return last ? actOnElements(node, [segment.index], action) : visit(node[segment.index], segments, at + 1, action);
    }
    if (segment.kind === 'anyElement') {
      if (last) return actOnElements(node, node.map((_, i) => i), action);
      return node.reduce<number>((sum, child) => sum + visit(child, segments, at + 1, action), 0);
    }
    return 0;
  }

  const object = node as Record<string, unknown>;
  if (segment.kind === 'member') {
    if (!Object.hasOwn(object, segment.name)) return 0;
    return last ? act(object, segment.name, action) : visit(object[segment.name], segments, at + 1, action);
  }
  if (segment.kind === 'anyMember') {
    const names = Object.keys(object);
    if (last) return names.reduce((sum, name) => sum + act(object, name, action), 0);
    return names.reduce((sum, name) => sum + visit(object[name], segments, at + 1, action), 0);
  }
  return 0;
}

function act(object: Record<string, unknown>, name: string, action: FieldAction): number {
  if (action === 'drop') delete object[name];
  else object[name] = MASKED_FIELD;
  return 1;
}

function actOnElements(array: unknown[], indexes: number[], action: FieldAction): number {
  if (action === 'mask') {
    for (const index of indexes) array[index] = MASKED_FIELD;
  } else {
    // Remove from the end so earlier indexes stay valid.
    for (const index of [...indexes].sort((a, b) => b - a)) array.splice(index, 1);
  }
  return indexes.length;
}
