/**
 * Names a JSON value's type the way an error message for a caller should: `a string`,
 * `an array`, `null`.
 */
export function describeJsonValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'boolean':
      return 'a boolean';
    case 'object':
      return 'a dictionary';
    default:
      return typeof value;
  }
}
