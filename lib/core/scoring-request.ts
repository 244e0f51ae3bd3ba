import { z } from 'zod';
import { InvalidRequestError } from './errors';
import { describeIssues } from './describe-issues';

/**
 * The MLflow scoring protocol, as Databricks Model Serving accepts it: exactly one input format,
 * plus optional `params`.
 */
export const SCORING_FORMATS = ['dataframe_split', 'dataframe_records', 'instances', 'inputs'] as const;
export type ScoringFormat = (typeof SCORING_FORMATS)[number];

const dataframeSplitSchema = z
  .object({
    columns: z.array(z.string()).min(1, 'needs at least one column'),
    data: z.array(z.array(z.unknown())).min(1, 'needs at least one row'),
    index: z.array(z.union([z.string(), z.number()])).optional(),
  })
  .strict()
  .superRefine((frame, ctx) => {
    frame.data.forEach((row, i) => {
      if (row.length !== frame.columns.length) {
        ctx.addIssue({
          code: 'custom',
          path: ['data', i],
          message: `has ${row.length} values but there are ${frame.columns.length} columns`,
        });
      }
    });
    if (frame.index !== undefined && frame.index.length !== frame.data.length) {
      ctx.addIssue({ code: 'custom', path: ['index'], message: `has ${frame.index.length} entries for ${frame.data.length} rows` });
    }
  });

export const scoringRequestSchema = z
  .object({
    dataframe_split: dataframeSplitSchema.optional(),
    dataframe_records: z.array(z.record(z.string(), z.unknown())).min(1, 'needs at least one record').optional(),
    instances: z.array(z.unknown()).min(1, 'needs at least one instance').optional(),
    inputs: z
      .union([z.array(z.unknown()).min(1, 'needs at least one input'), z.record(z.string(), z.unknown())], {
        error: 'must be an array or an object of named tensors',
      })
      .optional(),
    params: z.record(z.string(), z.unknown()).optional(),
  })
  .strict()
  .superRefine((body, ctx) => {
    const present = SCORING_FORMATS.filter((format) => body[format] !== undefined);
    if (present.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        message:
          present.length === 0
            ? `exactly one of ${SCORING_FORMATS.join(', ')} is required`
            : `exactly one of ${SCORING_FORMATS.join(', ')} is allowed, got ${present.join(' and ')}`,
      });
    }
  });

export type ScoringRequest = z.infer<typeof scoringRequestSchema>;

/** A validated scoring request and what it costs, in rows. */
export interface ParsedScoringRequest {
  format: ScoringFormat;
  rows: number;
}

/**
 * Checks a parsed JSON body against the scoring protocol.
 * @throws InvalidRequestError (400) naming the offending field.
 */
export function parseScoringRequest(body: unknown): ParsedScoringRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InvalidRequestError(`Request body must be a JSON object with one of ${SCORING_FORMATS.join(', ')}`);
  }
  const parsed = scoringRequestSchema.safeParse(body);
  if (!parsed.success) {
    throw new InvalidRequestError(describeIssues(parsed.error.issues), { cause: parsed.error });
  }
  const request = parsed.data;
  if (request.dataframe_split) return { format: 'dataframe_split', rows: request.dataframe_split.data.length };
  if (request.dataframe_records) return { format: 'dataframe_records', rows: request.dataframe_records.length };
  if (request.instances) return { format: 'instances', rows: request.instances.length };
  const inputs = request.inputs;
  return { format: 'inputs', rows: Array.isArray(inputs) ? inputs.length : countTensorRows(inputs ?? {}) };
}

/**
 * Named tensors share their first dimension, whose length is the row count. Nothing makes a
 * caller send them equal, and the count is what is billed and limited: the longest one counts.
 */
function countTensorRows(tensors: Record<string, unknown>): number {
  let rows = 1;
  for (const tensor of Object.values(tensors)) if (Array.isArray(tensor) && tensor.length > rows) rows = tensor.length;
  return rows;
}
