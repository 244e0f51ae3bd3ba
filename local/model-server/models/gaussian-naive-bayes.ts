import { softmax } from './softmax';

/** A row of numeric features with its class. */
export interface NumericExample<Label extends string> {
  readonly features: readonly number[];
  readonly label: Label;
}

/** A fitted classifier: the probability of each class given a row of features. */
export interface GaussianNaiveBayes<Label extends string> {
  readonly labels: readonly Label[];
  /** Posterior probability of each label, in the order of `labels`; they sum to 1. */
  posterior(features: readonly number[]): number[];
}

/**
 * Fits a Gaussian Naive Bayes: per class, an independent normal distribution per feature.
 * As scikit-learn does, every variance gets 1e-9 of the largest feature variance added, so a
 * feature that is constant within a class cannot divide by zero.
 */
export function trainGaussianNaiveBayes<Label extends string>(
  examples: readonly NumericExample<Label>[],
): GaussianNaiveBayes<Label> {
  const labels = [...new Set(examples.map((example) => example.label))];
  const featureCount = examples[0]?.features.length ?? 0;
  const featureVariances = range(featureCount).map((feature) =>
    variance(examples.map((example) => example.features[feature] as number)),
  );
  const epsilon = 1e-9 * Math.max(...featureVariances);

  const classes = labels.map((label) => {
    const members = examples.filter((example) => example.label === label);
    const means: number[] = [];
    const variances: number[] = [];
    for (const feature of range(featureCount)) {
      const values = members.map((example) => example.features[feature] as number);
      means.push(mean(values));
      variances.push(variance(values) + epsilon);
    }
    return {
      logPrior: Math.log(members.length / examples.length),
      means,
      variances,
      // The constant part of each normal log-density, computed once.
      logNormalisers: variances.map((value) => -0.5 * Math.log(2 * Math.PI * value)),
    };
  });

  return {
    labels,
    posterior(features) {
      const logScores = classes.map(({ logPrior, means, variances, logNormalisers }) => {
        let score = logPrior;
        for (let feature = 0; feature < featureCount; feature++) {
          const deviation = (features[feature] as number) - (means[feature] as number);
          score += (logNormalisers[feature] as number) - (deviation * deviation) / (2 * (variances[feature] as number));
        }
        return score;
      });
      return softmax(logScores);
    },
  };
}

function range(length: number): number[] {
  return Array.from({ length }, (_, index) => index);
}

function mean(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0) / values.length;
}

/** Population variance, as maximum likelihood estimation of a normal distribution wants. */
function variance(values: readonly number[]): number {
  const average = mean(values);
  return values.reduce((total, value) => total + (value - average) ** 2, 0) / values.length;
}
