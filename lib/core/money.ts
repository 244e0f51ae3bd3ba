/**
 * Money in modelgate is counted in integer nano-units of the currency (1e-9): a token priced at
 * $0.15 per million is 150 nanos, so per-request costs are whole numbers and sums are exact
 * (a double holds integers exactly up to 9e15 nanos, i.e. 9 million currency units per counter).
 */
export type Nanos = number;

const NANOS_PER_UNIT = 1_000_000_000;
const DECIMAL = /^(\d{1,7})(?:\.(\d{1,9}))?$/;

/**
 * "12.5" → 12_500_000_000. Parsed from the text, never through a float, so "0.1" is exact.
 * @throws RangeError when the text is not a non-negative decimal with at most 9 decimals, or is
 * more than a double counts exactly in nanos (about 9 million units).
 */
export function parseMoney(text: string): Nanos {
  const match = DECIMAL.exec(text.trim());
  if (!match) throw new RangeError(`"${text}" is not an amount (a non-negative decimal such as 250 or 19.99)`);
  const whole = Number(match[1]);
  const fraction = Number((match[2] ?? '').padEnd(9, '0'));
  const nanos = whole * NANOS_PER_UNIT + fraction;
  if (nanos > Number.MAX_SAFE_INTEGER) throw new RangeError(`"${text}" is more than the largest amount counted exactly, ${formatMoney(Number.MAX_SAFE_INTEGER, 9)}`);
  return nanos;
}

/** 12_500_000_000 → "12.500000" (6 decimals unless asked otherwise). */
export function formatMoney(nanos: Nanos, decimals = 6): string {
  const sign = nanos < 0 ? '-' : '';
  const absolute = Math.abs(Math.round(nanos));
  const whole = Math.floor(absolute / NANOS_PER_UNIT);
  const fraction = String(absolute % NANOS_PER_UNIT).padStart(9, '0');
  if (decimals === 0) return `${sign}${whole}`;
  // Round half up at the requested decimal, on the integer digits.
  const kept = Number(fraction.slice(0, decimals));
  const next = Number(fraction[decimals] ?? '0');
  let rounded = kept + (next >= 5 ? 1 : 0);
  let wholeRounded = whole;
  if (rounded >= 10 ** decimals) {
    rounded -= 10 ** decimals;
    wholeRounded += 1;
  }
  return `${sign}${wholeRounded}.${String(rounded).padStart(decimals, '0')}`;
}
