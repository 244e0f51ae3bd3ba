import { z } from 'zod';
import { auditPolicySchema, defaultAuditPolicy } from './audit-policy';

/** Names that are safe in URLs, S3 keys and metric dimensions. */
const resourceName = z
  .string()
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$/, 'must be 1-63 letters, digits, ".", "_" or "-", starting with a letter or digit');

/** A model a serving endpoint can route to: here, a SageMaker endpoint (and optional variant). */
export const servedEntitySchema = z
  .object({
    name: resourceName,
    backend: z.literal('sagemaker'),
    /** The SageMaker endpoint's name. */
    endpointName: resourceName,
    /** A production variant to pin, sent as `TargetVariant`; SageMaker's own split otherwise. */
    variant: resourceName.optional(),
    /** Relative share of traffic among this endpoint's served entities. */
    weight: z.number().int().min(0).max(1000).default(100),
  })
  .strict();

/** One serving endpoint, as the platform admin declares it. */
export const servingEndpointSchema = z
  .object({
    name: resourceName,
    description: z.string().max(500).optional(),
    /** Only classic ML scoring (`custom`) is served so far; LLM tasks arrive with their backends. */
    task: z.literal('custom'),
    /** How long one backend call may take before the caller gets a 504. API Gateway caps at 29 s. */
    timeoutMs: z.number().int().min(50).max(28_000).default(10_000),
    /** Largest request body accepted (Lambda's synchronous payload limit is 6 MB). */
    maxRequestBytes: z.number().int().min(1).max(6_000_000).default(1_048_576),
    audit: auditPolicySchema.default(defaultAuditPolicy),
    servedEntities: z
      .array(servedEntitySchema)
      .min(1)
      .refine((entities) => entities.some((entity) => entity.weight > 0), 'at least one served entity needs a weight above 0')
      .refine((entities) => new Set(entities.map((e) => e.name)).size === entities.length, 'served entity names must be unique'),
  })
  .strict();

/** The whole endpoint configuration document (`config/endpoints.json`). */
export const endpointConfigSchema = z
  .object({
    version: z.literal(1),
    endpoints: z
      .array(servingEndpointSchema)
      .min(1)
      .refine((endpoints) => new Set(endpoints.map((e) => e.name)).size === endpoints.length, 'endpoint names must be unique'),
  })
  .strict();

export type ServedEntity = z.infer<typeof servedEntitySchema>;
export type ServingEndpoint = z.infer<typeof servingEndpointSchema>;
export type EndpointConfig = z.infer<typeof endpointConfigSchema>;
