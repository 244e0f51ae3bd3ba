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
      const text = column.value(row).replace(/\s+/g, ' ');
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
