/** Time, behind a port so tests can fix it. */
export interface Clock {
  /** Wall-clock time, for records. */
  now(): Date;
  /** A monotonic reading in milliseconds, for durations. */
  monotonic(): number;
}
