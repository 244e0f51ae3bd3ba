import type { AuditRecord } from '../core/audit-record';
import type { UsageEvent } from '../core/usage-event';

/**
 * Where audit records go. `record` resolves only once the record is durably accepted, and with
 * it the usage event that bills the request, when one is given: one durable write on the request
 * path instead of two. The audit log's consumer forwards the usage event once the record is archived.
 */
export interface AuditSink {
  record(record: AuditRecord, usage?: UsageEvent): Promise<void>;
}
