/**
 * Control characters (C0, DEL, C1), line and paragraph separators and bidirectional controls: what
 * a terminal would act on or reorder rather than show. Audit records hold text callers chose (an
 * endpoint name, a user agent, a body), which must not clear an auditor's screen, retitle the
 * window or print lines that look like the record's own.
 */
const NOT_PRINTABLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** Text as a terminal should show it: every character it would act on written as `\uXXXX`. */
export function printable(text: string): string {
  return text.replace(NOT_PRINTABLE, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A column of a text table. */
export interface Column<T> {
  header: string;
  value(row: T): string;
  /** Right-aligned (numbers). */
  right?: boolean;
  /** Longer values are cut with an ellipsis. */
  maxWidth?: number;
}

/** Rows as an aligned text table with a header, as a terminal user reads it. */
export function formatTable<T>(rows: readonly T[], columns: ReadonlyArray<Column<T>>): string {
  const cells = rows.map((row) =>
    columns.map((column) => {
      const text = printable(column.value(row).replace(/\s+/g, ' '));
      return column.maxWidth !== undefined && text.length > column.maxWidth ? `${text.slice(0, column.maxWidth - 1)}…` : text;
    }),
  );
  const widths = columns.map((column, i) => Math.max(column.header.length, ...cells.map((row) => row[i]!.length)));
  const line = (values: string[]) =>
    values
      .map((value, i) => (columns[i]!.right ? value.padStart(widths[i]!) : value.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(columns.map((column) => column.header)), ...cells.map(line)].join('\n');
}
