import type { ServedEntity } from '../core/endpoint-config';

/** One call to a model, in our shapes: the backend translates to and from its own protocol. */
export interface BackendRequest {
  requestId: string;
  servedEntity: ServedEntity;
  /** The request body as the caller sent it (already validated), forwarded without re-encoding. */
  body: Uint8Array;
  contentType: string;
  /** Aborted when the endpoint's timeout has passed. */
  signal: AbortSignal;
}

export interface BackendResponse {
  body: Uint8Array;
  contentType: string | undefined;
  /** The production variant that actually answered, where the backend reports it. */
  variant?: string | undefined;
}

/**
 * A model backend. Implementations throw only `AppError`s: 400 for the model's own rejection of
 * the input, 502 for its failures, 503 for throttling or unavailability, 504 for the deadline.
 */
export interface ModelBackend {
  invoke(request: BackendRequest): Promise<BackendResponse>;
}

/** Backends by the `backend` field of a served entity. */
export type BackendRegistry = Readonly<Record<ServedEntity['backend'], ModelBackend>>;
