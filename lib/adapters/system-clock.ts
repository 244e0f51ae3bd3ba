import type { Clock } from '../ports/clock';

/** The real clock: wall time for records, `performance.now()` for durations. */
export const systemClock: Clock = {
  now: () => new Date(),
  monotonic: () => performance.now(),
};
