import { z } from 'zod';
import { describeIssues } from '../describe-issues';
import { InvalidRequestError } from '../errors';
import { isRequestId } from './layout';
import type { AuditSearchQuery } from './search';
import { parseTimeRange } from './time-bound';

/**
 * The search filters as text, from a query string or command-line options: the one schema both
 * the audit API and the CLI validate with.
 */
export const auditSearchParamsSchema = z
  .object({
    from: z.string().optional(),
    to: z.string().optional(),
    tenant: z.string().min(1).max(64).optional(),
    key: z.string().min(1).max(64).optional(),
    endpoint: z.string().min(1).max(200).optional(),
    status: z.string().regex(/^([1-5]xx|[1-5]\d\d)$/i, 'must be a status (404) or a class (4xx)').optional(),
    text: z.string().min(1).max(200).optional(),
    kind: z.enum(['invocation', 'audit-read', 'async-submission', 'async-invocation']).optional(),
    limit: z.coerce.number().int().min(1).max(1_000).default(100),
    after: z.string().refine(isRequestId, 'must be a request id (the `next` of the previous page)').optional(),
  })
  .strict();

export type AuditSearchParams = z.input<typeof auditSearchParamsSchema>;

/**
 * Validates search filters into a query.
 * @throws InvalidRequestError naming the offending parameter.
 */
export function parseAuditSearchParams(params: Record<string, string | undefined>, now: Date, maxDays: number): AuditSearchQuery {
  const parsed = auditSearchParamsSchema.safeParse(params);
  if (!parsed.success) throw new InvalidRequestError(describeIssues(parsed.error.issues));
  const { from, to, key, ...filters } = parsed.data;
  const range = parseTimeRange({ from, to }, now, maxDays);
  const query: AuditSearchQuery = { ...range, limit: filters.limit };
  if (filters.tenant !== undefined) query.tenant = filters.tenant;
  if (key !== undefined) query.keyId = key;
  if (filters.endpoint !== undefined) query.endpoint = filters.endpoint;
  if (filters.status !== undefined) query.status = filters.status.toLowerCase();
  if (filters.text !== undefined) query.text = filters.text;
  if (filters.kind !== undefined) query.kind = filters.kind;
  if (filters.after !== undefined) query.after = filters.after;
  return query;
}
