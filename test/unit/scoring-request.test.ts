import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../../lib/core/errors';
import { parseScoringRequest } from '../../lib/core/scoring-request';

function refusal(body: unknown): InvalidRequestError {
  try {
    parseScoringRequest(body);
  } catch (error) {
    if (error instanceof InvalidRequestError) return error;
    throw error;
  }
  throw new Error('expected the body to be refused');
}

describe('parseScoringRequest', () => {
  it.each([
    ['dataframe_split', { dataframe_split: { columns: ['a', 'b'], data: [[1, 2], [3, 4], [5, 6]] } }, 3],
    ['dataframe_split with index', { dataframe_split: { index: [7, 8], columns: ['a'], data: [[1], [2]] } }, 2],
    ['dataframe_records', { dataframe_records: [{ a: 1 }, { a: 2 }] }, 2],
    ['instances', { instances: [[1, 2, 3, 4]] }, 1],
    ['inputs as a list', { inputs: ['x', 'y', 'z', 'w'] }, 4],
    ['inputs as named tensors', { inputs: { text: ['x', 'y'] } }, 2],
    ['named tensors of unequal length, counted by the longest', { inputs: { a: 0, b: ['x', 'y', 'z'], c: ['x'] } }, 3],
    ['params beside the input', { instances: ['x'], params: { temperature: 0.1 } }, 1],
  ])('accepts %s and counts its rows', (_name, body, rows) => {
    // Act
    const parsed = parseScoringRequest(body);
    // Assess
    expect(parsed.rows).toBe(rows);
  });

  it('refuses a body with no input format, naming the four it accepts', () => {
    expect(refusal({ params: {} }).message).toBe('exactly one of dataframe_split, dataframe_records, instances, inputs is required');
  });

  it('refuses two input formats at once, naming both', () => {
    expect(refusal({ instances: [1], inputs: [2] }).message).toContain('got instances and inputs');
  });

  it('names the field with the wrong type', () => {
    expect(refusal({ dataframe_split: { columns: 'text', data: [['x']] } }).message).toMatch(/^dataframe_split\.columns: /);
  });

  it('names the row whose width does not match the columns', () => {
    expect(refusal({ dataframe_split: { columns: ['a', 'b'], data: [[1, 2], [3]] } }).message).toBe(
      'dataframe_split.data[1]: has 1 values but there are 2 columns',
    );
  });

  it('names unknown top-level fields', () => {
    expect(refusal({ instances: [1], instance: [2] }).message).toContain('unknown field instance');
  });

  it.each([[null], [[1, 2]], ['text'], [42]])('refuses a body that is not a JSON object (%j)', (body) => {
    expect(refusal(body).statusCode).toBe(400);
  });

  it('refuses empty inputs', () => {
    expect(refusal({ dataframe_records: [] }).message).toBe('dataframe_records: needs at least one record');
  });
});
