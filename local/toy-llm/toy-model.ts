import { z } from 'zod';

/** The default size of the toy model's embeddings (OpenAI's `text-embedding-3-small` has 1536). */
export const defaultEmbeddingDimensions = 256;

/**
 * A toy model a local server hosts: a generator (chat and completions) or an embedder. With
 * `omitUsage` it answers without token counts, as some self-hosted servers do, so that the
 * gateway's own estimate is exercised.
 */
export const toyModelSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('generate'), omitUsage: z.boolean().optional() }).strict(),
  z
    .object({
      kind: z.literal('embed'),
      dimensions: z.number().int().min(1).max(4096).optional(),
      omitUsage: z.boolean().optional(),
    })
    .strict(),
]);

/** Model name → toy model, as a server is configured (e.g. from a JSON environment variable). */
export const toyModelCatalogueSchema = z.record(z.string().min(1).max(200), toyModelSchema);

export type ToyModel = z.infer<typeof toyModelSchema>;
