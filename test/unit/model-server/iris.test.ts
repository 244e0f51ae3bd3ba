import { describe, expect, it } from 'vitest';
import { parseMlflowInput } from '../../../local/model-server/mlflow-input';
import { ModelInputError } from '../../../local/model-server/model-input-error';
import { classifyIris, irisModel } from '../../../local/model-server/models/iris';
import { irisDataset } from '../../../local/model-server/models/iris-dataset';

const setosa = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 };
const versicolor = { sepal_length: 7.0, sepal_width: 3.2, petal_length: 4.7, petal_width: 1.4 };
const virginica = { sepal_length: 6.3, sepal_width: 3.3, petal_length: 6.0, petal_width: 2.5 };

describe('iris model', () => {
  it('embeds the 150 flowers of the Iris data set, 50 per species', () => {
    // Act
    const perSpecies = ['setosa', 'versicolor', 'virginica'].map(
      (species) => irisDataset.filter((sample) => sample[4] === species).length,
    );

    // Assess
    expect(irisDataset).toHaveLength(150);
    expect(perSpecies).toEqual([50, 50, 50]);
  });

  it('classifies the first flower of each species in the data set right', () => {
    // Act
    const classes = [setosa, versicolor, virginica].map(
      (flower) => classifyIris([flower.sepal_length, flower.sepal_width, flower.petal_length, flower.petal_width]).class,
    );

    // Assess
    expect(classes).toEqual(['setosa', 'versicolor', 'virginica']);
  });

  it('classifies more than 90% of the training flowers right', () => {
    // Act
    const correct = irisDataset.filter(
      ([sepalLength, sepalWidth, petalLength, petalWidth, species]) =>
        classifyIris([sepalLength, sepalWidth, petalLength, petalWidth]).class === species,
    ).length;

    // Assess
    expect(correct / irisDataset.length).toBeGreaterThan(0.9);
  });

  it('answers a probability per species that sum to one, highest for the chosen class', () => {
    // Act
    const prediction = classifyIris([6.0, 2.9, 4.5, 1.5]);

    // Assess
    const probabilities = Object.values(prediction.probabilities);
    expect(Object.keys(prediction.probabilities).sort()).toEqual(['setosa', 'versicolor', 'virginica']);
    expect(probabilities.reduce((sum, value) => sum + value, 0)).toBeCloseTo(1, 10);
    expect(prediction.probabilities[prediction.class]).toBe(Math.max(...probabilities));
  });

  it.each([
    [
      'dataframe_split with shuffled columns',
      {
        dataframe_split: {
          columns: ['petal_width', 'petal_length', 'sepal_width', 'sepal_length'],
          data: [[0.2, 1.4, 3.5, 5.1], [2.5, 6.0, 3.3, 6.3]],
        },
      },
    ],
    ['dataframe_records', { dataframe_records: [setosa, virginica] }],
    ['instances as records', { instances: [setosa, virginica] }],
    ['instances as arrays', { instances: [[5.1, 3.5, 1.4, 0.2], [6.3, 3.3, 6.0, 2.5]] }],
    ['inputs as a 2-D array', { inputs: [[5.1, 3.5, 1.4, 0.2], [6.3, 3.3, 6.0, 2.5]] }],
  ])('scores every row of a %s request in order', (_format, payload) => {
    // Act
    const predictions = irisModel.predict(parseMlflowInput(payload));

    // Assess
    expect(predictions).toMatchObject([{ class: 'setosa' }, { class: 'virginica' }]);
  });

  it('refuses a row missing a column, naming the missing column', () => {
    // Prepare
    const { petal_width: _omitted, ...withoutPetalWidth } = setosa;

    // Act
    const predict = (): unknown => irisModel.predict(parseMlflowInput({ dataframe_records: [withoutPetalWidth] }));

    // Assess
    expect(predict).toThrow(ModelInputError);
    expect(predict).toThrow(/missing inputs \['petal_width'\]/);
  });

  it('refuses a non-numeric measurement, naming the column', () => {
    // Act
    const predict = (): unknown =>
      irisModel.predict(parseMlflowInput({ dataframe_records: [{ ...setosa, sepal_width: 'wide' }] }));

    // Assess
    expect(predict).toThrow(/column 'sepal_width' \(row 0\): expected a number, got a string/);
  });

  it('refuses a positional row without exactly four values', () => {
    // Act
    const predict = (): unknown => irisModel.predict(parseMlflowInput({ inputs: [[5.1, 3.5, 1.4]] }));

    // Assess
    expect(predict).toThrow(/Row 0 has 3 values; the model expects 4/);
  });
});
