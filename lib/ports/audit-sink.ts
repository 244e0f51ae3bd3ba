import type { AuditRecord } from '../core/audit-record';

/** Where audit records go. `record` resolves only once the record is durably accepted. */
export interface AuditSink {
  record(record: AuditRecord): Promise<void>;
}
