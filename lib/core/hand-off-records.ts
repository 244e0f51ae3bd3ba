import type { AuditRecord } from './audit-record';
import type { UsageEvent } from './usage-event';
import type { AuditSink } from '../ports/audit-sink';
import type { UsageSink } from '../ports/usage-sink';

/** How a request's audit record and usage event were handed off. */
export interface HandoffOutcome {
  /** What failed, when anything did (logged and counted as a hand-off failure). */
  error?: unknown;
  /** The answer must not be given: its audit record (where required) or its usage event is not durable. */
  mustWithhold: boolean;
}

/**
 * One durable write per request: the audit record with the usage event riding along (the
 * archiver forwards it once the record is archived). When that write fails, the usage event is
 * still sent on its own wherever the answer is given anyway, because billing always fails closed:
 * the endpoint opted out of fail-closed auditing, or the answer already reached the caller (a
 * stream's relayed tokens). Otherwise the answer is withheld.
 */
export async function handOffRecords(
  sinks: { audit: AuditSink; usage: UsageSink },
  audit: AuditRecord,
  usage: UsageEvent,
  policy: { auditRequired: boolean; answerAlreadyGiven: boolean },
): Promise<HandoffOutcome> {
  try {
    await sinks.audit.record(audit, usage);
    return { mustWithhold: false };
  } catch (failure) {
    const error = failure ?? new Error('audit hand-off failed');
    if (policy.auditRequired && !policy.answerAlreadyGiven) return { error, mustWithhold: true };
    const billed = await sinks.usage.publish(usage).then(
      () => true,
      () => false,
    );
    // A required record that is missing still ends a stream with an error, not a clean end.
    return { error, mustWithhold: policy.auditRequired || !billed };
  }
}
