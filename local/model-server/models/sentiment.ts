import { describeJsonValue } from '../describe-json-value';
import type { ScoringRow } from '../mlflow-input';
import { ModelInputError } from '../model-input-error';
import { sentimentCorpus, type SentimentLabel } from './sentiment-corpus';
import { sentimentTokens } from './sentiment-tokens';
import type { ServedModel } from './served-model';
import { trainTextNaiveBayes } from './text-naive-bayes';

/** What the sentiment model answers for one text. */
export interface SentimentPrediction {
  readonly label: SentimentLabel;
  /** The model's probability (0..1) that `label` is right. */
  readonly score: number;
}

/** The one input column the sentiment model reads. */
export const sentimentTextColumn = 'text';

// Trained once, when the module loads: the corpus is small enough to take a few milliseconds.
const classifier = trainTextNaiveBayes(
  sentimentCorpus.map(({ text, label }) => ({ tokens: sentimentTokens(text), label })),
);

/** Classifies one text as positive or negative. */
export function classifySentiment(text: string): SentimentPrediction {
  const probabilities = classifier.posterior(sentimentTokens(text));
  let best = 0;
  for (let index = 1; index < probabilities.length; index++) {
    if ((probabilities[index] as number) > (probabilities[best] as number)) best = index;
  }
  return { label: classifier.labels[best] as SentimentLabel, score: probabilities[best] as number };
}

/** The `sentiment` model: reads a `text` column (or bare strings) and labels each row. */
export const sentimentModel: ServedModel = {
  predict(input) {
    return input.rows.map((row, rowIndex) => classifySentiment(readText(row, rowIndex)));
  },
};

function readText(row: ScoringRow, rowIndex: number): string {
  let value: unknown;
  switch (row.kind) {
    case 'named':
      if (!Object.hasOwn(row.fields, sentimentTextColumn)) {
        const columns = Object.keys(row.fields).map((name) => `'${name}'`).join(', ');
        throw new ModelInputError(
          `Model is missing inputs ['${sentimentTextColumn}'] (row ${rowIndex} has columns [${columns}]).`,
        );
      }
      value = row.fields[sentimentTextColumn];
      break;
    case 'positional':
      if (row.values.length !== 1) {
        throw new ModelInputError(
          `Row ${rowIndex} has ${row.values.length} values; the model expects one, the '${sentimentTextColumn}' column.`,
        );
      }
      value = row.values[0];
      break;
    case 'scalar':
      value = row.value;
      break;
  }
  if (typeof value !== 'string') {
    throw new ModelInputError(
      `Incompatible input type for column '${sentimentTextColumn}' (row ${rowIndex}): expected a string, got ${describeJsonValue(value)}.`,
    );
  }
  return value;
}
