import { describe, expect, it } from 'vitest';
import { parseMlflowInput } from '../../../local/model-server/mlflow-input';
import { ModelInputError } from '../../../local/model-server/model-input-error';

describe('parseMlflowInput', () => {
  it('zips dataframe_split columns with each data row into named rows', () => {
    // Prepare
    const payload = { dataframe_split: { columns: ['a', 'b'], data: [[1, 'x'], [2, 'y']], index: [7, 8] } };

    // Act
    const input = parseMlflowInput(payload);

    // Assess
    expect(input.format).toBe('dataframe_split');
    expect(input.rows).toEqual([
      { kind: 'named', fields: { a: 1, b: 'x' } },
      { kind: 'named', fields: { a: 2, b: 'y' } },
    ]);
  });

  it('reads dataframe_split without columns as positional rows', () => {
    // Prepare
    const payload = { dataframe_split: { data: [[1, 2]] } };

    // Act
    const input = parseMlflowInput(payload);

    // Assess
    expect(input.rows).toEqual([{ kind: 'positional', values: [1, 2] }]);
  });

  it('reads each dataframe_records entry as a named row', () => {
    // Prepare
    const payload = { dataframe_records: [{ text: 'hi' }, { text: 'bye' }] };

    // Act
    const input = parseMlflowInput(payload);

    // Assess
    expect(input.rows).toEqual([
      { kind: 'named', fields: { text: 'hi' } },
      { kind: 'named', fields: { text: 'bye' } },
    ]);
  });

  it('reads instances as named, positional or bare-value rows by the shape of each entry', () => {
    // Prepare
    const payload = { instances: [{ text: 'a' }, [1, 2], 'plain'] };

    // Act
    const input = parseMlflowInput(payload);

    // Assess
    expect(input.rows).toEqual([
      { kind: 'named', fields: { text: 'a' } },
      { kind: 'positional', values: [1, 2] },
      { kind: 'scalar', value: 'plain' },
    ]);
  });

  it('reads columnar inputs as one named row per position', () => {
    // Prepare
    const payload = { inputs: { text: ['one', 'two'], lang: ['en', 'fr'] } };

    // Act
    const input = parseMlflowInput(payload);

    // Assess
    expect(input.rows).toEqual([
      { kind: 'named', fields: { text: 'one', lang: 'en' } },
      { kind: 'named', fields: { text: 'two', lang: 'fr' } },
    ]);
  });

  it('reads an inputs array as one row per element', () => {
    // Prepare
    const payload = { inputs: [[5.1, 3.5, 1.4, 0.2]], params: { temperature: 0 } };

    // Act
    const input = parseMlflowInput(payload);

    // Assess
    expect(input.rows).toEqual([{ kind: 'positional', values: [5.1, 3.5, 1.4, 0.2] }]);
    expect(input.params).toEqual({ temperature: 0 });
  });

  it.each([
    ['no input field', { params: {} }],
    ['two input fields', { inputs: ['a'], instances: ['b'] }],
    ['an unknown field', { inputs: ['a'], prompt: 'b' }],
    ['a non-object payload', ['a']],
  ])('refuses a payload with %s, naming the four accepted fields', (_case, payload) => {
    // Act
    const parse = (): unknown => parseMlflowInput(payload);

    // Assess
    expect(parse).toThrow(ModelInputError);
    expect(parse).toThrow(/exactly one of the input fields \{'dataframe_split', 'dataframe_records', 'instances', 'inputs'\}/);
  });

  it('refuses an input with no rows', () => {
    // Act
    const parse = (): unknown => parseMlflowInput({ dataframe_records: [] });

    // Assess
    expect(parse).toThrow(/'dataframe_records' contains no rows/);
  });

  it('refuses a dataframe_split row whose length differs from its columns', () => {
    // Act
    const parse = (): unknown => parseMlflowInput({ dataframe_split: { columns: ['a', 'b'], data: [[1]] } });

    // Assess
    expect(parse).toThrow(/'dataframe_split.data\[0\]' has 1 values but 'columns' names 2/);
  });

  it('refuses columnar inputs whose columns differ in length', () => {
    // Act
    const parse = (): unknown => parseMlflowInput({ inputs: { a: [1, 2], b: [1] } });

    // Assess
    expect(parse).toThrow(/columns of 'inputs' differ in length/);
  });

  it('refuses params that are not a dictionary', () => {
    // Act
    const parse = (): unknown => parseMlflowInput({ inputs: ['a'], params: [1] });

    // Assess
    expect(parse).toThrow(/'params' must be a JSON dictionary/);
  });
});
