import { describe, expect, it } from 'vitest';
import { retryDelaySeconds } from '../../../lib/core/async/retry-delay';
import { ServiceUnavailableError } from '../../../lib/core/errors';

const policy = { maxReceiveCount: 5, baseDelaySeconds: 10, maxDelaySeconds: 300 };

describe('retryDelaySeconds (the visibility backoff of a transient failure)', () => {
  it('doubles with each delivery, between half and all of the exponential step', () => {
    expect([1, 2, 3, 4].map((n) => retryDelaySeconds(n, policy, () => 0))).toEqual([5, 10, 20, 40]);
    expect([1, 2, 3, 4].map((n) => retryDelaySeconds(n, policy, () => 0.999_999))).toEqual([10, 20, 40, 80]);
  });

  it('stops growing at the ceiling', () => {
    expect(retryDelaySeconds(20, policy, () => 0.999_999)).toBe(300);
  });

  it('waits at least as long as the backend\'s retry-after asks, within the ceiling', () => {
    const throttled = new ServiceUnavailableError('BACKEND_THROTTLED', 'slow down', { headers: { 'retry-after': '120' } });
    expect(retryDelaySeconds(1, policy, () => 0, throttled)).toBe(120);
    const greedy = new ServiceUnavailableError('BACKEND_THROTTLED', 'slow down', { headers: { 'retry-after': '99999' } });
    expect(retryDelaySeconds(1, policy, () => 0, greedy)).toBe(300);
  });
});
