import type { ScoringInput } from '../mlflow-input';

/** A model the scoring container can host: one JSON-serialisable prediction per input row. */
export interface ServedModel {
  /**
   * Scores every row. Throws a `ModelInputError` naming the problem when a row does not fit the
   * model's signature; any other throw is a crash of the model.
   */
  predict(input: ScoringInput): readonly unknown[];
}
