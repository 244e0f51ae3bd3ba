/** How an object is written. */
export interface PutObjectOptions {
  contentType?: string;
  contentEncoding?: string;
  /** Small descriptive key-values stored with the object (S3 user metadata). */
  metadata?: Record<string, string>;
  /**
   * Create only: the write does not happen when the key already exists, and `put` resolves
   * `{ created: false }`. The audit log's immutability and its chain's linearity rest on this.
   */
  ifNoneMatch?: true;
}

export interface ListedObject {
  key: string;
  size: number;
}

/**
 * A bucket, as the audit log needs one: immutable objects under keys, listed in key order. Every
 * write is encrypted by the implementation (SSE-KMS in S3).
 */
export interface ObjectStore {
  put(key: string, body: Uint8Array, options?: PutObjectOptions): Promise<{ created: boolean }>;
  /** The object's bytes, or `undefined` when there is no such key. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** Objects whose key starts with `prefix`, in ascending key order, after `startAfter` when given. */
  list(prefix: string, options?: { startAfter?: string }): AsyncIterable<ListedObject>;
}
