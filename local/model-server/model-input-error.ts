/**
 * The model's own refusal of its input (wrong columns, wrong types, no rows). The scoring
 * container answers it with a 4xx, which SageMaker then relays as a `ModelError`.
 */
export class ModelInputError extends Error {
  override readonly name = 'ModelInputError';
  /** The status the scoring container answers with (400 unless the content type is wrong). */
  readonly statusCode: number;
  /** MLflow's error code for the reply body, e.g. `BAD_REQUEST`. */
  readonly errorCode: string;

  constructor(message: string, options: { statusCode?: number; errorCode?: string } = {}) {
    super(message);
    this.statusCode = options.statusCode ?? 400;
    this.errorCode = options.errorCode ?? 'BAD_REQUEST';
  }
}
