import { describe, expect, it } from 'vitest';
import { isRequestId, requestIdTime } from '../../lib/core/audit-log/layout';
import { isProducerRequestId } from '../../lib/core/request-id-space';
import { newRequestId } from '../../lib/http/request-id';

describe('newRequestId', () => {
  it('mints distinct UUIDv7 ids that carry the minting millisecond, across refills of its random pool', () => {
    const before = Date.now();
    // More than the pool holds (256 ids), so ids after a refill are checked too.
    const ids = Array.from({ length: 1000 }, () => newRequestId());
    const after = Date.now();
    expect(ids.every(isRequestId)).toBe(true);
    // The gateway's half of the id space: no producer's message may start a request under them.
    expect(ids.some(isProducerRequestId)).toBe(false);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) {
      const minted = requestIdTime(id)!.getTime();
      expect(minted).toBeGreaterThanOrEqual(before);
      expect(minted).toBeLessThanOrEqual(after);
    }
  });

  it('draws fresh random bits for every id, not the pool’s same bytes again', () => {
    // The last 62 bits of a UUIDv7 are random; two ids in one millisecond differ there.
    const tails = new Set(Array.from({ length: 600 }, () => newRequestId().slice(19)));
    expect(tails.size).toBe(600);
  });
});
