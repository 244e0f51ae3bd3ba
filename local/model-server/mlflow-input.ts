import { describeJsonValue } from './describe-json-value';
import { ModelInputError } from './model-input-error';

/**
 * One input row as the request gave it: by column name, by position, or a bare value (e.g. a
 * string in `instances: ["good", "bad"]`). Each model resolves its own columns from it.
 */
export type ScoringRow =
  | { readonly kind: 'named'; readonly fields: Readonly<Record<string, unknown>> }
  | { readonly kind: 'positional'; readonly values: readonly unknown[] }
  | { readonly kind: 'scalar'; readonly value: unknown };

/** The four ways MLflow's scoring protocol lets a caller send rows. */
export type MlflowInputFormat = 'dataframe_split' | 'dataframe_records' | 'instances' | 'inputs';

/** A scoring request reduced to rows, ready for a model. */
export interface ScoringInput {
  readonly format: MlflowInputFormat;
  readonly rows: readonly ScoringRow[];
  readonly params: Readonly<Record<string, unknown>> | undefined;
}

const inputFormats: readonly MlflowInputFormat[] = [
  'dataframe_split',
  'dataframe_records',
  'instances',
  'inputs',
];

const formatListing = `{'dataframe_split', 'dataframe_records', 'instances', 'inputs'}`;

/**
 * Turns a decoded MLflow scoring payload (as Databricks Model Serving accepts it) into rows.
 * This is the model server's own parser: it refuses what MLflow's server would refuse, with a
 * {@link ModelInputError} that names the offending field.
 */
export function parseMlflowInput(payload: unknown): ScoringInput {
  if (!isJsonObject(payload)) {
    throw new ModelInputError(
      `The input must be a JSON dictionary with exactly one of the input fields ${formatListing}. Received: ${describeJsonValue(payload)}.`,
    );
  }
  const keys = Object.keys(payload);
  const given = inputFormats.filter((format) => Object.hasOwn(payload, format));
  const unknown = keys.filter((key) => key !== 'params' && !inputFormats.includes(key as MlflowInputFormat));
  const format = given[0];
  if (given.length !== 1 || format === undefined || unknown.length > 0) {
    const received = keys.map((key) => `'${key}'`).join(', ');
    throw new ModelInputError(
      `The input must be a JSON dictionary with exactly one of the input fields ${formatListing}. ` +
        `Received dictionary with input fields: [${received}].`,
    );
  }
  const params = payload['params'];
  if (params !== undefined && !isJsonObject(params)) {
    throw new ModelInputError(`'params' must be a JSON dictionary, got ${describeJsonValue(params)}.`);
  }
  const rows = readRows(format, payload[format]);
  if (rows.length === 0) {
    throw new ModelInputError(`The input '${format}' contains no rows; send at least one row to score.`);
  }
  return { format, rows, params };
}

function readRows(format: MlflowInputFormat, value: unknown): ScoringRow[] {
  switch (format) {
    case 'dataframe_split':
      return readDataframeSplit(value);
    case 'dataframe_records':
      return readDataframeRecords(value);
    case 'instances':
      return readInstances(value);
    case 'inputs':
      return readInputs(value);
  }
}

function readDataframeSplit(value: unknown): ScoringRow[] {
  if (!isJsonObject(value)) {
    throw new ModelInputError(`'dataframe_split' must be a JSON dictionary with 'columns' and 'data', got ${describeJsonValue(value)}.`);
  }
  const { columns, data, index } = value;
  if (!Array.isArray(data)) {
    throw new ModelInputError(`'dataframe_split.data' must be an array of rows, got ${describeJsonValue(data)}.`);
  }
  if (index !== undefined && (!Array.isArray(index) || index.length !== data.length)) {
    throw new ModelInputError(`'dataframe_split.index' must be an array with one entry per row of 'data' (${data.length}).`);
  }
  const names = columns === undefined ? undefined : readColumnNames(columns);
  return data.map((row: unknown, rowIndex): ScoringRow => {
    if (!Array.isArray(row)) {
      throw new ModelInputError(`'dataframe_split.data[${rowIndex}]' must be an array of values, got ${describeJsonValue(row)}.`);
    }
    if (names === undefined) return { kind: 'positional', values: row };
    if (row.length !== names.length) {
      throw new ModelInputError(
        `'dataframe_split.data[${rowIndex}]' has ${row.length} values but 'columns' names ${names.length}.`,
      );
    }
    const fields: Record<string, unknown> = {};
    names.forEach((name, columnIndex) => {
      fields[name] = row[columnIndex];
    });
    return { kind: 'named', fields };
  });
}

function readColumnNames(columns: unknown): readonly string[] {
  if (!Array.isArray(columns) || !columns.every((name): name is string => typeof name === 'string')) {
    throw new ModelInputError(`'dataframe_split.columns' must be an array of column names (strings).`);
  }
  const duplicate = columns.find((name, position) => columns.indexOf(name) !== position);
  if (duplicate !== undefined) {
    throw new ModelInputError(`'dataframe_split.columns' names column '${duplicate}' more than once.`);
  }
  return columns;
}

function readDataframeRecords(value: unknown): ScoringRow[] {
  if (!Array.isArray(value)) {
    throw new ModelInputError(`'dataframe_records' must be an array of records, got ${describeJsonValue(value)}.`);
  }
  return value.map((record: unknown, rowIndex): ScoringRow => {
    if (!isJsonObject(record)) {
      throw new ModelInputError(`'dataframe_records[${rowIndex}]' must be a JSON dictionary, got ${describeJsonValue(record)}.`);
    }
    return { kind: 'named', fields: record };
  });
}

function readInstances(value: unknown): ScoringRow[] {
  if (!Array.isArray(value)) {
    throw new ModelInputError(`'instances' must be an array with one entry per row, got ${describeJsonValue(value)}.`);
  }
  return value.map(toRow);
}

function readInputs(value: unknown): ScoringRow[] {
  if (Array.isArray(value)) return value.map(toRow);
  if (!isJsonObject(value)) {
    throw new ModelInputError(`'inputs' must be an array of rows or a dictionary of columns, got ${describeJsonValue(value)}.`);
  }
  return readColumnar(value);
}

/** TF-serving's columnar form, `{"col": [v0, v1, ...], ...}`: every column holds one value per row. */
function readColumnar(columns: Record<string, unknown>): ScoringRow[] {
  const names = Object.keys(columns);
  let rowCount: number | undefined;
  for (const name of names) {
    const values = columns[name];
    if (!Array.isArray(values)) {
      throw new ModelInputError(`'inputs.${name}' must be an array with one value per row, got ${describeJsonValue(values)}.`);
    }
    if (rowCount !== undefined && values.length !== rowCount) {
      throw new ModelInputError(`The columns of 'inputs' differ in length: '${name}' has ${values.length} values, '${names[0]}' has ${rowCount}.`);
    }
    rowCount = values.length;
  }
  const rows: ScoringRow[] = [];
  for (let rowIndex = 0; rowIndex < (rowCount ?? 0); rowIndex++) {
    const fields: Record<string, unknown> = {};
    for (const name of names) fields[name] = (columns[name] as readonly unknown[])[rowIndex];
    rows.push({ kind: 'named', fields });
  }
  return rows;
}

function toRow(entry: unknown): ScoringRow {
  if (Array.isArray(entry)) return { kind: 'positional', values: entry };
  if (isJsonObject(entry)) return { kind: 'named', fields: entry };
  return { kind: 'scalar', value: entry };
}

function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
