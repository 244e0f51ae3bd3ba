import { softmax } from './softmax';

/** A document already reduced to tokens, with its class. */
export interface TokenizedExample<Label extends string> {
  readonly tokens: readonly string[];
  readonly label: Label;
}

/** A fitted classifier: the probability of each class given a document's tokens. */
export interface TextNaiveBayes<Label extends string> {
  readonly labels: readonly Label[];
  /** Posterior probability of each label, in the order of `labels`; they sum to 1. */
  posterior(tokens: readonly string[]): number[];
}

/**
 * Fits a multinomial Naive Bayes with binary counts (a word counts once per document, which
 * suits short sentences) and Laplace smoothing. Words never seen in training are ignored.
 */
export function trainTextNaiveBayes<Label extends string>(
  examples: readonly TokenizedExample<Label>[],
  smoothing = 1,
): TextNaiveBayes<Label> {
  const labels = [...new Set(examples.map((example) => example.label))];
  const documentCounts = labels.map(() => 0);
  const tokenCounts = labels.map(() => new Map<string, number>());
  const tokenTotals = labels.map(() => 0);
  const vocabulary = new Set<string>();

  for (const example of examples) {
    const labelIndex = labels.indexOf(example.label);
    const counts = tokenCounts[labelIndex] as Map<string, number>;
    documentCounts[labelIndex] = (documentCounts[labelIndex] ?? 0) + 1;
    for (const token of new Set(example.tokens)) {
      counts.set(token, (counts.get(token) ?? 0) + 1);
      tokenTotals[labelIndex] = (tokenTotals[labelIndex] ?? 0) + 1;
      vocabulary.add(token);
    }
  }

  const logPriors = documentCounts.map((count) => Math.log(count / examples.length));
  // Precomputed per word so that scoring is one map lookup per token and label.
  const logLikelihoods = new Map<string, number[]>();
  const denominators = tokenTotals.map((total) => total + smoothing * vocabulary.size);
  for (const token of vocabulary) {
    logLikelihoods.set(
      token,
      tokenCounts.map((counts, labelIndex) =>
        Math.log(((counts.get(token) ?? 0) + smoothing) / (denominators[labelIndex] as number)),
      ),
    );
  }

  return {
    labels,
    posterior(tokens) {
      const scores = [...logPriors];
      for (const token of new Set(tokens)) {
        const likelihoods = logLikelihoods.get(token);
        if (likelihoods === undefined) continue;
        for (let labelIndex = 0; labelIndex < scores.length; labelIndex++) {
          scores[labelIndex] = (scores[labelIndex] as number) + (likelihoods[labelIndex] as number);
        }
      }
      return softmax(scores);
    },
  };
}
