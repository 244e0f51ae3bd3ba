/** Turns log-scores into probabilities that sum to 1, shifted by the maximum so nothing overflows. */
export function softmax(logScores: readonly number[]): number[] {
  const max = Math.max(...logScores);
  const exponentials = logScores.map((score) => Math.exp(score - max));
  const sum = exponentials.reduce((total, value) => total + value, 0);
  return exponentials.map((value) => value / sum);
}
