import { describe, expect, it } from 'vitest';
import { parseMlflowInput } from '../../../local/model-server/mlflow-input';
import { ModelInputError } from '../../../local/model-server/model-input-error';
import { classifySentiment, sentimentModel } from '../../../local/model-server/models/sentiment';
import { sentimentCorpus } from '../../../local/model-server/models/sentiment-corpus';

describe('sentiment model', () => {
  it('labels an enthusiastic sentence positive with a probability above one half', () => {
    // Act
    const prediction = classifySentiment('I love this, wonderful');

    // Assess
    expect(prediction.label).toBe('positive');
    expect(prediction.score).toBeGreaterThan(0.5);
    expect(prediction.score).toBeLessThanOrEqual(1);
  });

  it('labels a complaint negative', () => {
    // Act
    const prediction = classifySentiment('terrible, awful, broken');

    // Assess
    expect(prediction.label).toBe('negative');
    expect(prediction.score).toBeGreaterThan(0.5);
  });

  it('reads a negated positive word as negative', () => {
    // Act
    const prediction = classifySentiment('I am not happy with it');

    // Assess
    expect(prediction.label).toBe('negative');
  });

  it('learns from a balanced corpus of at least 150 sentences', () => {
    // Act
    const positives = sentimentCorpus.filter((sentence) => sentence.label === 'positive').length;
    const negatives = sentimentCorpus.filter((sentence) => sentence.label === 'negative').length;

    // Assess
    expect(positives + negatives).toBeGreaterThanOrEqual(150);
    expect(positives).toBe(negatives);
  });

  it('labels more than 90% of its training sentences right', () => {
    // Act
    const correct = sentimentCorpus.filter((sentence) => classifySentiment(sentence.text).label === sentence.label).length;

    // Assess
    expect(correct / sentimentCorpus.length).toBeGreaterThan(0.9);
  });

  it.each([
    ['dataframe_split', { dataframe_split: { columns: ['text'], data: [['I love this, wonderful'], ['terrible, awful, broken']] } }],
    ['dataframe_records', { dataframe_records: [{ text: 'I love this, wonderful' }, { text: 'terrible, awful, broken' }] }],
    ['instances as records', { instances: [{ text: 'I love this, wonderful' }, { text: 'terrible, awful, broken' }] }],
    ['instances as strings', { instances: ['I love this, wonderful', 'terrible, awful, broken'] }],
    ['inputs as strings', { inputs: ['I love this, wonderful', 'terrible, awful, broken'] }],
    ['inputs as columns', { inputs: { text: ['I love this, wonderful', 'terrible, awful, broken'] } }],
  ])('scores every row of a %s request in order', (_format, payload) => {
    // Act
    const predictions = sentimentModel.predict(parseMlflowInput(payload));

    // Assess
    expect(predictions).toMatchObject([{ label: 'positive' }, { label: 'negative' }]);
  });

  it('refuses rows without a text column, naming the column', () => {
    // Act
    const predict = (): unknown => sentimentModel.predict(parseMlflowInput({ dataframe_records: [{ review: 'great' }] }));

    // Assess
    expect(predict).toThrow(ModelInputError);
    expect(predict).toThrow(/missing inputs \['text'\].*'review'/);
  });

  it('refuses a text that is not a string, naming the column and row', () => {
    // Act
    const predict = (): unknown => sentimentModel.predict(parseMlflowInput({ instances: ['fine', 42] }));

    // Assess
    expect(predict).toThrow(/column 'text' \(row 1\): expected a string, got a number/);
  });
});
