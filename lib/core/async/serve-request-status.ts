import { answerBytes, MAX_ANSWER_BYTES } from '../answer-size';
import type { Principal } from '../api-key';
import { authenticate, isGranted } from '../authenticate';
import { isRequestId } from '../audit-log/layout';
import { AppError, NotFoundError, PermissionDeniedError, toAppError } from '../errors';
import { errorResponse } from '../error-response';
import type { DownloadLinks } from '../../ports/download-links';
import type { JobStore } from '../../ports/job-store';
import type { KeyStore } from '../../ports/key-store';
import type { ObjectStore } from '../../ports/object-store';
import { resultKey } from './async-request-message';
import { visibleStatus, type AsyncRequest } from './async-request';

/** A `GET /requests/{id}` as the HTTP edge hands it over. */
export interface RequestStatusRequest {
  /** This read's own id (for an error's `request_id`). */
  requestId: string;
  /** The `{id}` of the path: the queued request asked about. */
  id: string | undefined;
  authorization: string | undefined;
}

export interface RequestStatusDeps {
  keys: KeyStore;
  jobs: JobStore;
  objects: ObjectStore;
  links: DownloadLinks;
}

export interface RequestStatusOutcome {
  statusCode: number;
  headers: Record<string, string>;
  body: Uint8Array;
  principal?: Principal;
  error?: AppError;
}

/** Results up to this size are answered inline; larger ones as a short-lived link (a Lambda answer is at most 6 MB). */
export const MAX_INLINE_RESULT_BYTES = 4_000_000;
/** How long a result link works. */
export const RESULT_LINK_SECONDS = 900;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Where a queued request stands: `queued`, `running`, `succeeded` (with the result) or `failed`
 * (with the error), and when each happened. Only keys of the tenant that submitted a request, and
 * granted its endpoint, may see it; anyone else, like an unknown id, gets the same 404, so ids
 * cannot be probed across tenants.
 * Never throws.
 */
export async function serveRequestStatus(request: RequestStatusRequest, deps: RequestStatusDeps): Promise<RequestStatusOutcome> {
  let principal: Principal | undefined;
  try {
    principal = await authenticate(request.authorization, deps.keys);
    if (!principal.roles.includes('invoke')) throw new PermissionDeniedError(`API key ${principal.keyId} does not have the invoke role`);
    const id = (request.id ?? '').toLowerCase();
    const found = isRequestId(id) ? await deps.jobs.get(id) : undefined;
    // The same answer for someone else's request as for none: nothing tells them apart. A key
    // reads only what it could have asked for: its tenant's requests to endpoints it is granted.
    if (found === undefined || found.tenant !== principal.tenant || !isGranted(principal, found.endpoint)) throw new NotFoundError(`No request ${request.id ?? ''}`);
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: encoder.encode(await describe(found, deps)), principal };
  } catch (thrown) {
    const error = toAppError(thrown);
    const response = errorResponse(error, request.requestId);
    return {
      statusCode: response.statusCode,
      headers: { ...response.headers, 'content-type': 'application/json' },
      body: response.body,
      ...(principal ? { principal } : {}),
      error,
    };
  }
}

/** The request as its submitter sees it (snake_case, as the rest of the API answers), as JSON text. */
async function describe(request: AsyncRequest, deps: RequestStatusDeps): Promise<string> {
  const status = visibleStatus(request);
  const view: Record<string, unknown> = {
    request_id: request.requestId,
    status,
    endpoint: request.endpoint,
    submitted_at: request.submittedAt,
    started_at: request.startedAt,
    finished_at: status === 'succeeded' || status === 'failed' ? request.finishedAt : null,
    deliveries: request.deliveries,
  };
  if (request.idempotencyKey !== null) view.idempotency_key = request.idempotencyKey;
  if (status === 'queued' && request.lastError !== null) view.last_error = request.lastError;
  const outcome = request.outcome;
  if (outcome === null || (status !== 'succeeded' && status !== 'failed')) return JSON.stringify(view);
  view.status_code = outcome.statusCode;
  if (outcome.servedEntity !== null) view.served_entity = outcome.servedEntity;
  if (outcome.units !== null) view.usage = outcome.units;
  if (status === 'failed') return JSON.stringify({ ...view, error: outcome.error });
  const linked = async () =>
    JSON.stringify({ ...view, result_url: await deps.links.urlFor(resultKey(request.requestId), RESULT_LINK_SECONDS), result_bytes: outcome.resultBytes });
  if (outcome.resultBytes > MAX_INLINE_RESULT_BYTES) return linked();
  const stored = await deps.objects.get(resultKey(request.requestId));
  if (stored === undefined) throw new Error(`the result of request ${request.requestId} is missing from the async bucket`);
  const inline = JSON.stringify({ ...view, result: JSON.parse(decoder.decode(stored)) as unknown });
  // Escaped inside the Lambda answer, a result full of quotes grows up to twice its stored size.
  return answerBytes(inline) <= MAX_ANSWER_BYTES ? inline : linked();
}
