import { buildAuditRecord } from '../lib/core/audit-record';
import { readerRecordId } from '../lib/core/audit-log/reader-record';
import { redactAuditRecord } from '../lib/core/redact-audit-record';
import type { AuditDeployment } from './deployment';

/** What a CLI read returned, for its own audit record: ids, never content. */
export interface ReadSummary {
  returned: number;
  requestIds?: string[];
  [detail: string]: unknown;
}

/**
 * Records a read of the audit log in the audit log before its result is shown: a read that
 * cannot be recorded is not shown (the same rule as the audit API). Throws when the hand-off fails.
 */
export async function recordAuditRead(
  deployment: AuditDeployment,
  read: { command: string; asked: Record<string, unknown>; summary: ReadSummary; status?: number; startedAt: number; now: Date },
): Promise<void> {
  const asked = { command: read.command, ...read.asked };
  const summary = { ...read.summary, requestIds: read.summary.requestIds?.slice(0, 1_000) };
  const record = buildAuditRecord({
    kind: 'audit-read',
    // Set below, from the record's content: the id the archiver files a reader's record under.
    requestId: '',
    receivedAt: read.now,
    endpointName: `cli:${read.command}`,
    principal: undefined,
    servedEntity: undefined,
    status: read.status ?? 200,
    error: undefined,
    latencyMs: performance.now() - read.startedAt,
    backendLatencyMs: undefined,
    clientIp: undefined,
    userAgent: `modelgate-cli (${deployment.reader})`,
    requestBody: new TextEncoder().encode(JSON.stringify(asked)),
    requestJson: asked,
    responseBody: new TextEncoder().encode(JSON.stringify(summary)),
    responseJson: summary,
  });
  const redacted = redactAuditRecord({ ...record, keyId: deployment.reader });
  try {
    await deployment.readsAudit.record({ ...redacted, requestId: readerRecordId(redacted) });
  } catch (error) {
    throw new Error(`this read could not be recorded in the audit log, so it is not shown (${error instanceof Error ? error.message : String(error)})`, { cause: error });
  }
}
