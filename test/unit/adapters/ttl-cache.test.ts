import { describe, expect, it } from 'vitest';
import { TtlCache } from '../../../lib/adapters/ttl-cache';

/** A load the test finishes when it wants, counting how often it was started. */
function controlledLoads() {
  const pending: Array<(value: string) => void> = [];
  return {
    started: () => pending.length,
    load: () => new Promise<string | undefined>((resolve) => pending.push(resolve)),
    finish: (index: number, value: string) => pending[index]!(value),
  };
}

describe('TtlCache.getOrLoad', () => {
  it('shares one load among callers asking while it is in flight, then answers from the cache', async () => {
    const loads = controlledLoads();
    const cache = new TtlCache<string>(60_000, 1_000, () => 0);
    const asked = [cache.getOrLoad('k', loads.load), cache.getOrLoad('k', loads.load)];
    loads.finish(0, 'v1');
    expect(await Promise.all(asked)).toEqual(['v1', 'v1']);
    expect(await cache.getOrLoad('k', loads.load)).toBe('v1');
    expect(loads.started()).toBe(1);
  });

  it('keeps no answer of a load that was in flight when the item was deleted (changed), and loads anew after', async () => {
    // Prepare: a load starts, then the item changes and its entry is deleted.
    const loads = controlledLoads();
    const cache = new TtlCache<string>(60_000, 1_000, () => 0);
    const before = cache.getOrLoad('k', loads.load);
    cache.delete('k');
    // Act: a caller after the change, then both loads end.
    const after = cache.getOrLoad('k', loads.load);
    loads.finish(1, 'fresh');
    loads.finish(0, 'stale');
    // Assess
    expect(await before).toBe('stale');
    expect(await after).toBe('fresh');
    expect(cache.get('k')).toEqual({ hit: true, value: 'fresh' });
  });
});
