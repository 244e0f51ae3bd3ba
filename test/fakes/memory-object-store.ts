import type { ListedObject, ObjectStore, PutObjectOptions } from '../../lib/ports/object-store';

/**
 * A bucket in memory with S3's semantics where the audit log relies on them: create-only writes
 * (`If-None-Match: *`), keys listed in ascending order. Records every write, and can be told to
 * fail or to let another writer in first.
 */
export class MemoryObjectStore implements ObjectStore {
  readonly objects = new Map<string, { body: Uint8Array; options: PutObjectOptions }>();
  readonly puts: string[] = [];
  gets = 0;
  failWith: Error | undefined;
  /** Called before each write; lets a test simulate a concurrent writer. */
  beforePut: ((key: string) => void | Promise<void>) | undefined;
  /** Prefixes where puts without If-None-Match are refused, as a bucket policy on `s3:if-none-match` does. */
  createOnlyPrefixes: string[] = [];

  async put(key: string, body: Uint8Array, options: PutObjectOptions = {}): Promise<{ created: boolean }> {
    if (this.failWith) throw this.failWith;
    if (!options.ifNoneMatch && this.createOnlyPrefixes.some((prefix) => key.startsWith(prefix))) {
      throw Object.assign(new Error(`Access Denied: puts under ${key} must carry If-None-Match`), { name: 'AccessDenied' });
    }
    await this.beforePut?.(key);
    this.puts.push(key);
    if (options.ifNoneMatch && this.objects.has(key)) return { created: false };
    this.objects.set(key, { body: new Uint8Array(body), options });
    return { created: true };
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    if (this.failWith) throw this.failWith;
    this.gets += 1;
    const object = this.objects.get(key);
    return object ? new Uint8Array(object.body) : undefined;
  }

  async *list(prefix: string, options: { startAfter?: string } = {}): AsyncIterable<ListedObject> {
    if (this.failWith) throw this.failWith;
    const keys = [...this.objects.keys()].filter((key) => key.startsWith(prefix) && (options.startAfter === undefined || key > options.startAfter)).sort();
    for (const key of keys) yield { key, size: this.objects.get(key)!.body.byteLength };
  }

  /** Overwrites or deletes an object behind the log's back, as an attacker with write access would. */
  tamper(key: string, body: Uint8Array | undefined): void {
    if (body === undefined) this.objects.delete(key);
    else this.objects.set(key, { body, options: {} });
  }

  keys(prefix = ''): string[] {
    return [...this.objects.keys()].filter((key) => key.startsWith(prefix)).sort();
  }
}
