import { show } from '../core/validate.js';

/**
 * A duration in configuration data: milliseconds as a number, or a string
 * with a unit: `"250ms"`, `"2s"`, `"1.5s"`, `"1m"`, `"1h"`. Options that
 * accept "no limit" also take the string `"Infinity"`.
 */
export type Duration = number | `${number}${'ms' | 's' | 'm' | 'h'}` | 'Infinity';

const PATTERN = /^(\d+(?:\.\d+)?|\.\d+)(ms|s|m|h)$/;
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** What a duration looks like, for error messages and the schema's description. */
export const DURATION_EXPECTED = 'a duration: ms as a number, or a string like "250ms", "2s", "1.5s", "1m"';

/**
 * Reads a duration: a number passes through unchanged (the policy checks its
 * range), a string with a unit is converted to ms, `"Infinity"` becomes
 * `Infinity`. Anything else gives `undefined`.
 */
export function toMs(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string') return undefined;
  if (value === 'Infinity') return Number.POSITIVE_INFINITY;
  const match = PATTERN.exec(value);
  if (match === null) return undefined;
  // Rounded to the nanosecond: "1.1s" is 1100, not 1100.0000000000002.
  return Math.round(Number(match[1]) * UNIT_MS[match[2]!]! * 1e6) / 1e6;
}

/**
 * Converts a duration from configuration data to milliseconds: a number is
 * returned as is, `"250ms"`, `"2s"`, `"1.5s"`, `"1m"`, `"1h"` are converted,
 * `"Infinity"` gives `Infinity`. Throws a `TypeError` for anything else.
 */
export function parseDuration(value: Duration | string | number): number {
  const ms = toMs(value);
  if (ms === undefined)
    throw new TypeError(`bulwark/config: expected ${DURATION_EXPECTED}, got ${show(value)}`);
  return ms;
}
