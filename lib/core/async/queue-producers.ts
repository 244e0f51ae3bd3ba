import { z } from 'zod';
import { tenantNameSchema } from '../api-key';
import { isGranted } from '../authenticate';
import { PermissionDeniedError } from '../errors';

/**
 * A tenant allowed to send requests straight onto the async request queue (producers inside AWS,
 * authenticated by IAM rather than an API key), and the endpoints it may use that way.
 */
export const queueProducerSchema = z
  .object({
    // As keys and producer messages name it: a grant no message could match is refused at load.
    tenant: tenantNameSchema,
    /** Endpoint names, or `"*"` for all. */
    endpoints: z.array(z.string().min(1).max(63)).min(1).max(100),
    /**
     * When given, only these IAM principals may send for the tenant: an SQS message's `SenderId`
     * (an IAM user's id `AIDA…`, or a role's `AROA…:<session>`) must equal one or start with `<id>:`.
     */
    senderIds: z.array(z.string().regex(/^[A-Z0-9]{10,128}$/, 'must be an IAM unique id such as AROAEXAMPLEID')).min(1).max(50).optional(),
  })
  .strict();

export type QueueProducer = z.infer<typeof queueProducerSchema>;

/**
 * @throws PermissionDeniedError (403) unless a grant lets `tenant` use `endpoint` through the
 *   queue, sent by `senderId`.
 */
export function authorizeQueueProducer(grants: readonly QueueProducer[], tenant: string, endpoint: string, senderId: string | undefined): void {
  const forTenant = grants.filter((grant) => grant.tenant === tenant);
  const granted = forTenant.filter((grant) => isGranted(grant, endpoint));
  if (granted.length === 0) {
    throw new PermissionDeniedError(`Tenant ${tenant} may not send requests for endpoint ${endpoint} through the queue`);
  }
  const sentByGranted = granted.some(
    (grant) => grant.senderIds === undefined || (senderId !== undefined && grant.senderIds.some((id) => senderId === id || senderId.startsWith(`${id}:`))),
  );
  if (!sentByGranted) {
    throw new PermissionDeniedError(`The sender of this message may not send requests for tenant ${tenant}`);
  }
}
