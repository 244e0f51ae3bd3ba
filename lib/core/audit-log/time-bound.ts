import { InvalidRequestError } from '../errors';

/** A day as typed: `2026-11-21`. */
export const DAY = /^\d{4}-\d{2}-\d{2}$/;
const RELATIVE = /^(\d+)([mhd])$/;
/** An ISO 8601 time with its zone: nothing the engine's lenient parser would read as local time. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * Reads a time bound as a security engineer types it: a day (`2026-11-21`: from its start, or to
 * its end when it closes a range), an ISO time with its zone (`2026-11-21T09:30:00Z`), a time
 * ago (`90m`, `6h`, `7d`) or `now`.
 * @throws InvalidRequestError naming the accepted forms.
 */
export function parseTimeBound(text: string, edge: 'start' | 'end', now: Date): Date {
  const value = text.trim();
  if (value === 'now') return now;
  if (DAY.test(value)) {
    const start = Date.parse(`${value}T00:00:00.000Z`);
    // A day that exists: Date.parse rolls 2026-02-31 over into March.
    if (!Number.isNaN(start) && new Date(start).toISOString().startsWith(value)) return new Date(edge === 'start' ? start : start + UNIT_MS.d);
  }
  const relative = RELATIVE.exec(value);
  if (relative) {
    const time = new Date(now.getTime() - Number(relative[1]) * UNIT_MS[relative[2] as keyof typeof UNIT_MS]);
    // Past what a Date holds (999999999d) it is no time at all, and no comparison with it holds.
    if (Number.isFinite(time.getTime())) return time;
  }
  if (ISO_TIME.test(value)) {
    const time = Date.parse(value);
    if (!Number.isNaN(time)) return new Date(time);
  }
  throw new InvalidRequestError(`"${text}" is not a time: use a day (2026-11-21), an ISO time with a zone (2026-11-21T09:30:00Z), a time ago (90m, 6h, 7d) or now`);
}

/** A period `[from, to)`. */
export interface TimeRange {
  from: Date;
  to: Date;
}

/**
 * A period from user input: `to` defaults to now, `from` to one day before `to`.
 * @throws InvalidRequestError when it is empty, reversed or longer than `maxDays`.
 */
export function parseTimeRange(input: { from?: string | undefined; to?: string | undefined }, now: Date, maxDays: number): TimeRange {
  const to = input.to === undefined ? now : parseTimeBound(input.to, 'end', now);
  const from = input.from === undefined ? new Date(to.getTime() - UNIT_MS.d) : parseTimeBound(input.from, 'start', now);
  if (from.getTime() >= to.getTime()) throw new InvalidRequestError(`the period is empty: ${from.toISOString()} is not before ${to.toISOString()}`);
  if (to.getTime() - from.getTime() > maxDays * UNIT_MS.d) throw new InvalidRequestError(`the period is longer than ${maxDays} days; narrow it`);
  return { from, to };
}
