import { irisModel } from './iris';
import { sentimentModel } from './sentiment';
import type { ServedModel } from './served-model';

/** Every model the local server can host, by name; a new model is one more line. */
export const modelRegistry = {
  sentiment: sentimentModel,
  iris: irisModel,
} as const satisfies Record<string, ServedModel>;

/** The name of a model the local server can host. */
export type ModelName = keyof typeof modelRegistry;
