// A bench's count options (rounds, calls, concurrency…) come in as strings from parseArgs; a
// typo or a 0 would otherwise run a meaningless measurement, so each is checked where it is read.
export function wholeNumberOption(name: string, raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} takes a whole number ≥ 1, not ${raw}`);
  return value;
}
