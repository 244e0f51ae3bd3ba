import type { ToyModel } from '../../toy-llm/toy-model';
import { irisModel } from './iris';
import { sentimentModel } from './sentiment';
import type { ServedModel } from './served-model';

/**
 * A model and the container that serves it: an MLflow scoring server (`{"predictions": ...}`),
 * or an LLM container speaking OpenAI's chat/completions/embeddings bodies, as SageMaker's LMI
 * and TGI containers do with their OpenAI-compatible Messages API.
 */
export type HostedModel =
  | { readonly container: 'mlflow'; readonly model: ServedModel }
  | { readonly container: 'openai'; readonly model: ToyModel };

/** Every model the local server can host, by name; a new model is one more line. */
export const modelRegistry = {
  sentiment: { container: 'mlflow', model: sentimentModel },
  iris: { container: 'mlflow', model: irisModel },
  'toy-llm': { container: 'openai', model: { kind: 'generate' } },
  'toy-llm-no-usage': { container: 'openai', model: { kind: 'generate', omitUsage: true } },
  'toy-embedder': { container: 'openai', model: { kind: 'embed' } },
} as const satisfies Record<string, HostedModel>;

/** The name of a model the local server can host. */
export type ModelName = keyof typeof modelRegistry;
