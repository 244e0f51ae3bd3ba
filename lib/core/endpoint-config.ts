import { z } from 'zod';
import { abusePolicySchema } from './abuse/abuse-policy';
import { auditPolicySchema, defaultAuditPolicy } from './audit-policy';
import { endpointLimitsSchema } from './endpoint-limits';
import { guardrailsSchema } from './guardrails';
import { checkPricedNamesExist, pricingSchema } from './price-table';
import { queueProducerSchema } from './async/queue-producers';

/** Names that are safe in URLs, S3 keys and metric dimensions. */
const resourceName = z
  .string()
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$/, 'must be 1-63 letters, digits, ".", "_" or "-", starting with a letter or digit');

/** What an endpoint serves, which decides the request and response shapes it speaks. */
export const taskSchema = z.enum(['custom', 'chat', 'completions', 'embeddings']);

/**
 * Where a provider's API key lives. Only a pointer is ever configured: the key itself is read
 * from SSM Parameter Store (a SecureString) or Secrets Manager at cold start, never inlined.
 */
export const secretRefSchema = z.union([
  z.object({ ssmParameter: z.string().regex(/^\/?[a-zA-Z0-9_.\-/]{1,1011}$/, 'must be an SSM parameter name') }).strict(),
  z.object({ secretsManager: z.string().min(1).max(2048) }).strict(),
]);

/** Whether a provider URL is plain http on loopback: the local stack's servers, and nothing in Lambda. */
export function isLoopbackUrl(url: string): boolean {
  return /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(\/|$)/.test(url);
}

/** A provider base URL: HTTPS, except on loopback where the local stack's servers live. */
const providerUrl = z
  .url()
  .refine(
    (url) => url.startsWith('https://') || isLoopbackUrl(url),
    'must be https:// (plain http only on 127.0.0.1 or localhost)',
  )
  .transform((url) => url.replace(/\/+$/, ''));

/** Fields every served entity has, whatever its backend. */
const servedEntityBase = {
  name: resourceName,
  /** Relative share of first-choice traffic; 0 makes the entity a fallback only. */
  weight: z.number().int().min(0).max(1000).default(100),
  /** How long one call to this entity may take; the endpoint's deadline caps it. */
  timeoutMs: z.number().int().min(50).max(28_000).optional(),
  /** Served entities of the same endpoint to try next, in order, when this one fails retriably. */
  fallbacks: z.array(resourceName).max(5).default([]),
};

/** A SageMaker real-time endpoint (and optional production variant). */
export const sageMakerEntitySchema = z
  .object({
    ...servedEntityBase,
    backend: z.literal('sagemaker'),
    /** The SageMaker endpoint's name. */
    endpointName: resourceName,
    /** A production variant to pin, sent as `TargetVariant`; SageMaker's own split otherwise. */
    variant: resourceName.optional(),
  })
  .strict();

/** Any server speaking OpenAI's HTTP API: OpenAI itself, vLLM, TGI, Ollama and the like. */
export const openAiEntitySchema = z
  .object({
    ...servedEntityBase,
    backend: z.literal('openai'),
    /** The provider's model name, sent as `model`. */
    model: z.string().min(1).max(200),
    baseUrl: providerUrl.default('https://api.openai.com/v1'),
    /** Absent only for servers that need no key (a self-hosted vLLM on a private network). */
    apiKey: secretRefSchema.optional(),
  })
  .strict();

/** Anthropic's Messages API, spoken to in its own shape and translated to OpenAI's. */
export const anthropicEntitySchema = z
  .object({
    ...servedEntityBase,
    backend: z.literal('anthropic'),
    model: z.string().min(1).max(200),
    baseUrl: providerUrl.default('https://api.anthropic.com'),
    apiKey: secretRefSchema,
    /** Anthropic requires `max_tokens`; used when the caller sends none. */
    defaultMaxTokens: z.number().int().min(1).max(200_000).default(1024),
  })
  .strict();

/** A model a serving endpoint can route to. */
export const servedEntitySchema = z.discriminatedUnion('backend', [sageMakerEntitySchema, openAiEntitySchema, anthropicEntitySchema]);

/** Which tasks each backend can serve. */
export const BACKEND_TASKS: Readonly<Record<ServedEntity['backend'], readonly Task[]>> = {
  sagemaker: ['custom', 'chat', 'completions', 'embeddings'],
  openai: ['chat', 'completions', 'embeddings'],
  anthropic: ['chat'],
};

/** How an endpoint holds up when a served entity fails. */
export const routingPolicySchema = z
  .object({
    /** Extra attempts on the same entity after a retriable failure, before falling back. */
    retries: z.number().int().min(0).max(5).default(1),
    /** Base of the full-jitter exponential backoff between retries. */
    backoffMs: z.number().int().min(1).max(5_000).default(50),
    /** Consecutive retriable failures that open an entity's circuit. */
    breakerFailures: z.number().int().min(1).max(1_000).default(5),
    /** How long an open circuit stays open before one probe request is let through. */
    breakerCooldownMs: z.number().int().min(100).max(600_000).default(30_000),
  })
  .strict();

/** One serving endpoint, as the platform admin declares it. */
export const servingEndpointSchema = z
  .object({
    name: resourceName,
    description: z.string().max(500).optional(),
    task: taskSchema.default('custom'),
    /** The request's whole deadline, fallbacks and retries included. API Gateway caps at 29 s. */
    timeoutMs: z.number().int().min(50).max(28_000).default(10_000),
    /**
     * How long a streamed answer may run in all; its first chunk must still come within `timeoutMs`.
     * At most 870 s: the streaming functions run for up to 900 s (API Gateway's streaming limit),
     * and the 30 s left are for handing the audit record off and logging once the stream ended.
     */
    streamTimeoutMs: z.number().int().min(1_000).max(870_000).default(300_000),
    /** Largest request body accepted (Lambda's synchronous payload limit is 6 MB). */
    maxRequestBytes: z.number().int().min(1).max(6_000_000).default(1_048_576),
    audit: auditPolicySchema.default(defaultAuditPolicy),
    routing: routingPolicySchema.default(routingPolicySchema.parse({})),
    limits: endpointLimitsSchema.prefault({}),
    guardrails: guardrailsSchema.optional(),
    servedEntities: z.array(servedEntitySchema).min(1).max(20),
  })
  .strict()
  .superRefine((endpoint, context) => {
    const names = new Set<string>();
    endpoint.servedEntities.forEach((entity, index) => {
      if (names.has(entity.name)) {
        context.addIssue({ code: 'custom', path: ['servedEntities', index, 'name'], message: `duplicate served entity name ${entity.name}` });
      }
      names.add(entity.name);
      if (!BACKEND_TASKS[entity.backend].includes(endpoint.task)) {
        context.addIssue({
          code: 'custom',
          path: ['servedEntities', index, 'backend'],
          message: `backend ${entity.backend} cannot serve task ${endpoint.task}`,
        });
      }
    });
    endpoint.servedEntities.forEach((entity, index) => {
      entity.fallbacks.forEach((fallback, at) => {
        if (fallback === entity.name || !names.has(fallback)) {
          context.addIssue({
            code: 'custom',
            path: ['servedEntities', index, 'fallbacks', at],
            message: fallback === entity.name ? 'an entity cannot fall back to itself' : `no served entity named ${fallback}`,
          });
        }
      });
    });
    if (!endpoint.servedEntities.some((entity) => entity.weight > 0)) {
      context.addIssue({ code: 'custom', path: ['servedEntities'], message: 'at least one served entity needs a weight above 0' });
    }
  });

/**
 * A SageMaker real-time endpoint the stack itself creates (model, endpoint config, endpoint) and
 * autoscales by target tracking on invocations per instance. Served entities route to it by
 * `endpointName` like to any other SageMaker endpoint.
 */
export const managedSageMakerEndpointSchema = z
  .object({
    /** The SageMaker endpoint's name; unique in the account and region (include the stage). */
    name: resourceName,
    /** The inference container image (an ECR URI), e.g. an LMI or TGI image for LLMs. */
    image: z.string().regex(/^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?\/[^\s]+$/, 'must be an ECR image URI'),
    /** Model artifacts in S3, when the image does not fetch its own weights. */
    modelDataUrl: z.string().regex(/^s3:\/\/[a-z0-9.-]{3,63}\/.+/, 'must be an s3:// URL').optional(),
    /** Container environment (e.g. HF_MODEL_ID, OPTION_ROLLING_BATCH); never put secrets here. */
    environment: z.record(z.string().regex(/^[A-Z_][A-Z0-9_]*$/), z.string().max(1024)).default({}),
    instanceType: z.string().regex(/^ml\.[a-z0-9]+\.[a-z0-9]+$/, 'must be a SageMaker instance type such as ml.g5.2xlarge'),
    variantName: resourceName.default('AllTraffic'),
    autoscaling: z
      .object({
        minInstances: z.number().int().min(1).max(100),
        maxInstances: z.number().int().min(1).max(100),
        /** Target for SageMakerVariantInvocationsPerInstance (invocations per instance per minute). */
        targetInvocationsPerInstance: z.number().int().min(1).max(100_000),
        scaleInCooldownSeconds: z.number().int().min(0).max(3600).default(300),
        scaleOutCooldownSeconds: z.number().int().min(0).max(3600).default(60),
      })
      .strict()
      .refine((scaling) => scaling.minInstances <= scaling.maxInstances, 'minInstances must not exceed maxInstances'),
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
    /** SageMaker endpoints `serverless deploy` creates and autoscales; others are used as they are. */
    sagemakerEndpoints: z
      .array(managedSageMakerEndpointSchema)
      .max(50)
      .default([])
      .refine((managed) => new Set(managed.map((e) => e.name)).size === managed.length, 'SageMaker endpoint names must be unique'),
    pricing: pricingSchema.prefault({}),
    abuse: abusePolicySchema.prefault({}),
    /** Tenants that may send requests straight onto the async request queue (IAM producers). */
    queueProducers: z.array(queueProducerSchema).max(1_000).default([]),
  })
  .strict()
  .superRefine(checkPricedNamesExist);

export type Task = z.infer<typeof taskSchema>;
export type SecretRef = z.infer<typeof secretRefSchema>;
export type SageMakerEntity = z.infer<typeof sageMakerEntitySchema>;
export type OpenAiEntity = z.infer<typeof openAiEntitySchema>;
export type AnthropicEntity = z.infer<typeof anthropicEntitySchema>;
export type ServedEntity = z.infer<typeof servedEntitySchema>;
export type RoutingPolicy = z.infer<typeof routingPolicySchema>;
export type ServingEndpoint = z.infer<typeof servingEndpointSchema>;
export type ManagedSageMakerEndpoint = z.infer<typeof managedSageMakerEndpointSchema>;
export type EndpointConfig = z.infer<typeof endpointConfigSchema>;
