/** A fixed window a counter counts in. */
export interface LimitWindow {
  /** Part of the counter's name: `2026-11-21T10:15Z` for a minute, `2026-11` for a month. */
  label: string;
  startsAt: Date;
  endsAt: Date;
}

const MINUTE_MS = 60_000;

/** The fixed minute holding `now` (UTC). */
export function minuteWindow(now: Date): LimitWindow {
  const start = Math.floor(now.getTime() / MINUTE_MS) * MINUTE_MS;
  return { label: `${new Date(start).toISOString().slice(0, 16)}Z`, startsAt: new Date(start), endsAt: new Date(start + MINUTE_MS) };
}

/** The fixed window of `minutes` holding `now` (UTC, aligned to the epoch). */
export function minutesWindow(now: Date, minutes: number): LimitWindow {
  const size = minutes * MINUTE_MS;
  const start = Math.floor(now.getTime() / size) * size;
  return { label: `${new Date(start).toISOString().slice(0, 16)}Z`, startsAt: new Date(start), endsAt: new Date(start + size) };
}

/** The calendar month holding `now` (UTC): budgets and bills are monthly. */
export function monthWindow(now: Date): LimitWindow {
  const startsAt = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const endsAt = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
  return { label: startsAt.toISOString().slice(0, 7), startsAt, endsAt };
}

/** `YYYY-MM` of a time (UTC). */
export function monthOf(time: Date): string {
  return time.toISOString().slice(0, 7);
}

/** The counter of a tenant's spend in a month (`YYYY-MM`), which its budget holds against. */
export function tenantCostCounter(tenant: string, month: string): string {
  return `tenant#${tenant}#cost#${month}`;
}
