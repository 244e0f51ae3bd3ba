import { answerBytes, MAX_ANSWER_BYTES } from './answer-size';
import type { Principal } from './api-key';
import { buildAuditRecord, type AuditRecord } from './audit-record';
import { isRequestId } from './audit-log/layout';
import { parseAuditSearchParams } from './audit-log/search-params';
import { findAuditRecord, resolveBodyRefs, searchAuditLog, type AuditSearchResult } from './audit-log/search';
import { authenticate } from './authenticate';
import { errorResponse } from './error-response';
import { AppError, InvalidRequestError, NotFoundError, PermissionDeniedError, ServiceUnavailableError, toAppError } from './errors';
import { redactAuditRecord } from './redact-audit-record';
import type { AuditSink } from '../ports/audit-sink';
import type { Clock } from '../ports/clock';
import type { KeyStore } from '../ports/key-store';
import type { ObjectStore } from '../ports/object-store';

/** A read of the audit log through the API: one record by id, or a search. */
export interface AuditReadRequest {
  requestId: string;
  receivedAt: Date;
  startedAt: number;
  /** `GET /audit/records/{id}` when set, `GET /audit/records` otherwise. */
  recordId: string | undefined;
  query: Record<string, string | undefined>;
  authorization: string | undefined;
  clientIp: string | undefined;
  userAgent: string | undefined;
}

export interface AuditReadDeps {
  keys: KeyStore;
  archive: ObjectStore;
  audit: AuditSink;
  clock: Clock;
}

export interface AuditReadOutcome {
  statusCode: number;
  headers: Record<string, string>;
  body: Uint8Array;
  /** The record of this read, as handed to the audit log. */
  audit: AuditRecord;
  error?: AppError;
  handoffError?: unknown;
}

/** The longest period one API search may cover (the CLI, reading the bucket directly, allows more). */
export const API_SEARCH_MAX_DAYS = 7;

const encoder = new TextEncoder();

const BODIES_TOO_LARGE = 'the bodies are too large for one API answer: read them with `modelgate audit show <id>` or from the audit bucket at ref.s3Key';

/** A search page cut to fit one answer, oldest records kept: the page's `next` continues after the last one. */
function fitPage(result: AuditSearchResult): { page: AuditSearchResult; text: string } {
  const text = JSON.stringify(result);
  let bytes = answerBytes(text);
  if (bytes <= MAX_ANSWER_BYTES) return { page: result, text };
  const records = [...result.records];
  while (records.length > 1 && bytes > MAX_ANSWER_BYTES) bytes -= answerBytes(JSON.stringify(records.pop())) - 1;
  const page = { ...result, records, next: records.at(-1)!.requestId };
  return { page, text: JSON.stringify(page) };
}

/**
 * Serves a read of the audit log to a key with the `auditor` role (anyone else: 403). Every read,
 * allowed or refused, is itself audited, and a read whose audit record cannot be handed off is
 * not answered (503), so nobody reads the log unseen. The read's own record holds the query and
 * the ids of the records returned, not their content. Never throws.
 */
export async function serveAuditRead(request: AuditReadRequest, deps: AuditReadDeps): Promise<AuditReadOutcome> {
  let principal: Principal | undefined;
  let statusCode = 200;
  let headers: Record<string, string> = {};
  let body: Uint8Array;
  let responseSummary: unknown;
  let error: AppError | undefined;
  const asked = request.recordId === undefined ? { query: request.query } : { requestId: request.recordId };

  try {
    principal = await authenticate(request.authorization, deps.keys);
    if (!principal.roles.includes('auditor')) {
      throw new PermissionDeniedError(`API key ${principal.keyId} does not have the auditor role`);
    }
    if (request.recordId !== undefined) {
      if (!isRequestId(request.recordId)) throw new InvalidRequestError(`${request.recordId} is not a request id (a UUIDv7)`);
      const found = await findAuditRecord(deps.archive, request.recordId);
      if (!found) throw new NotFoundError(`No audit record for request ${request.recordId}`);
      const location = { objectKey: found.objectKey, line: found.line };
      const text = JSON.stringify({ record: await resolveBodyRefs(deps.archive, found.record), location });
      body = encoder.encode(text);
      if (answerBytes(text) > MAX_ANSWER_BYTES) {
        // Bodies kept by reference can be megabytes each: past one answer's room they stay references.
        body = encoder.encode(JSON.stringify({ record: found.record, location, bodiesByReference: BODIES_TOO_LARGE }));
      }
      responseSummary = { returned: 1, requestIds: [found.record.requestId] };
    } else {
      const query = parseAuditSearchParams(request.query, deps.clock.now(), API_SEARCH_MAX_DAYS);
      const { page, text } = fitPage(await searchAuditLog(deps.archive, query));
      body = encoder.encode(text);
      responseSummary = { returned: page.records.length, requestIds: page.records.map((record) => record.requestId), next: page.next };
    }
  } catch (thrown) {
    error = toAppError(thrown);
    let payload: unknown;
    ({ statusCode, headers, body, payload } = errorResponse(error, request.requestId));
    responseSummary = payload;
  }

  const audit = redactAuditRecord(
    buildAuditRecord({
      kind: 'audit-read',
      requestId: request.requestId,
      receivedAt: request.receivedAt,
      endpointName: request.recordId === undefined ? '/audit/records' : '/audit/records/{id}',
      principal,
      servedEntity: undefined,
      status: statusCode,
      error: error && { code: error.code, message: error.expose ? error.message : 'Internal error' },
      latencyMs: deps.clock.monotonic() - request.startedAt,
      backendLatencyMs: undefined,
      clientIp: request.clientIp,
      userAgent: request.userAgent,
      requestBody: encoder.encode(JSON.stringify(asked)),
      requestJson: asked,
      responseBody: body,
      responseJson: responseSummary,
    }),
  );
  const outcome: AuditReadOutcome = { statusCode, headers, body, audit };
  if (error) outcome.error = error;
  try {
    await deps.audit.record(audit);
  } catch (handoffError) {
    outcome.handoffError = handoffError;
    if (statusCode < 400) {
      const withheld = new ServiceUnavailableError('AUDIT_UNAVAILABLE', 'The read could not be recorded in the audit log; it was not served', {
        cause: handoffError,
        headers: { 'retry-after': '1' },
      });
      const response = errorResponse(withheld, request.requestId);
      Object.assign(outcome, { statusCode: response.statusCode, headers: response.headers, body: response.body, error: withheld });
    }
  }
  return outcome;
}
