import { describe, expect, it } from 'vitest';
import { irisModel } from '../../../local/model-server/models/iris';
import type { ServedModel } from '../../../local/model-server/models/served-model';
import { invokeScoringContainer } from '../../../local/model-server/scoring-container';

const json = 'application/json';
const body = (payload: unknown): Buffer => Buffer.from(JSON.stringify(payload));

describe('invokeScoringContainer', () => {
  it('answers 200 with one prediction per row', () => {
    // Act
    const reply = invokeScoringContainer(irisModel, body({ inputs: [[5.1, 3.5, 1.4, 0.2]] }), json);

    // Assess
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toMatchObject({ predictions: [{ class: 'setosa' }] });
  });

  it('accepts a JSON content type with a charset parameter', () => {
    // Act
    const reply = invokeScoringContainer(irisModel, body({ inputs: [[5.1, 3.5, 1.4, 0.2]] }), 'application/json; charset=utf-8');

    // Assess
    expect(reply.status).toBe(200);
  });

  it("answers the model's own 400 with a message naming the bad column", () => {
    // Act
    const reply = invokeScoringContainer(irisModel, body({ dataframe_records: [{ sepal_length: 5.1 }] }), json);

    // Assess
    expect(reply.status).toBe(400);
    expect(JSON.parse(reply.body)).toEqual({
      error_code: 'BAD_REQUEST',
      message: "Model is missing inputs ['sepal_width', 'petal_length', 'petal_width'] (row 0).",
    });
  });

  it('answers 400 MALFORMED_REQUEST to a body that is not JSON', () => {
    // Act
    const reply = invokeScoringContainer(irisModel, Buffer.from('{"inputs": ['), json);

    // Assess
    expect(reply.status).toBe(400);
    expect(JSON.parse(reply.body)).toMatchObject({ error_code: 'MALFORMED_REQUEST' });
  });

  it('answers 415 to a content type other than JSON', () => {
    // Act
    const reply = invokeScoringContainer(irisModel, body({ inputs: [[5.1, 3.5, 1.4, 0.2]] }), 'text/plain');

    // Assess
    expect(reply.status).toBe(415);
    expect(reply.body).toContain("Got 'text/plain'");
  });

  it('answers 500 when the model crashes', () => {
    // Prepare
    const crashingModel: ServedModel = {
      predict() {
        throw new TypeError('weights are missing');
      },
    };

    // Act
    const reply = invokeScoringContainer(crashingModel, body({ inputs: ['x'] }), json);

    // Assess
    expect(reply.status).toBe(500);
    expect(JSON.parse(reply.body)).toMatchObject({
      error_code: 'INTERNAL_ERROR',
      message: expect.stringContaining('weights are missing'),
    });
  });
});
