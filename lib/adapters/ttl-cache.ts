/**
 * A per-container cache of lookups, positive and negative answers with their own lifetimes. What a
 * gateway instance may believe about a key (or budget) is at most `ttlMs` old: the documented bound
 * on how long a change takes to reach every instance.
 */
export class TtlCache<V> {
  private readonly entries = new Map<string, { value: V | undefined; expiresAt: number }>();
  private readonly loading = new Map<string, Promise<V | undefined>>();

  constructor(
    private readonly ttlMs: number,
    private readonly negativeTtlMs: number,
    private readonly now: () => number = Date.now,
    /** Bounds memory under a flood of distinct unknown keys. */
    private readonly maxEntries = 10_000,
  ) {}

  /** The cached answer, or `miss`. */
  get(key: string): { hit: true; value: V | undefined } | { hit: false } {
    const entry = this.entries.get(key);
    if (!entry) return { hit: false };
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return { hit: false };
    }
    return { hit: true, value: entry.value };
  }

  /**
   * The cached answer, else what `load` finds, cached. Callers asking while a load is in flight
   * share it: a busy container whose entry just ran out reads once, not once per request in
   * flight. A failed load is not kept; the next caller loads again. A `delete` while a load is in
   * flight (the item just changed) leaves that load's answer uncached, and later callers load anew.
   */
  getOrLoad(key: string, load: () => Promise<V | undefined>): Promise<V | undefined> {
    const cached = this.get(key);
    if (cached.hit) return Promise.resolve(cached.value);
    let loaded = this.loading.get(key);
    if (loaded === undefined) {
      const current: Promise<V | undefined> = load()
        .then((value) => {
          if (this.loading.get(key) === current) this.set(key, value);
          return value;
        })
        .finally(() => {
          if (this.loading.get(key) === current) this.loading.delete(key);
        });
      loaded = current;
      this.loading.set(key, loaded);
    }
    return loaded;
  }

  set(key: string, value: V | undefined): void {
    const lifetime = value === undefined ? Math.min(this.negativeTtlMs, this.ttlMs) : this.ttlMs;
    if (lifetime <= 0) return;
    if (this.entries.size >= this.maxEntries) {
      // Oldest first (Map keeps insertion order): drop the one most likely stale anyway.
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, { value, expiresAt: this.now() + lifetime });
  }

  delete(key: string): void {
    this.entries.delete(key);
    this.loading.delete(key);
  }
}
