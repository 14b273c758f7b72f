import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../src/config/index.js';

describe('durations', () => {
  it('durations accept ms numbers and strings with a unit', () => {
    expect(parseDuration(250)).toBe(250);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('2s')).toBe(2_000);
    expect(parseDuration('1.5s')).toBe(1_500);
    expect(parseDuration('.5s')).toBe(500);
    expect(parseDuration('1m')).toBe(60_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('Infinity')).toBe(Number.POSITIVE_INFINITY);
  });

  it('a fractional duration has no floating-point residue ("1.1s" is 1100)', () => {
    expect(parseDuration('1.1s')).toBe(1_100);
    expect(parseDuration('0.3s')).toBe(300);
  });

  it('numbers pass through unchanged: their range is the policy’s to check', () => {
    expect(parseDuration(-5)).toBe(-5);
    expect(parseDuration(0)).toBe(0);
  });

  it.each(['2 seconds', '2', '2 s', '-1s', 's', '1.s', '1e3ms', '', '1d', 'infinity'])(
    'rejects garbage %j, naming what a duration looks like',
    (text) => {
      expect(() => parseDuration(text)).toThrow(
        new TypeError(
          `bulwark/config: expected a duration: ms as a number, or a string like "250ms", "2s", "1.5s", "1m", got ${JSON.stringify(text)}`,
        ),
      );
    },
  );

  it('every unit scales the number it follows (property)', () => {
    const units = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1_000_000 }), fc.constantFrom('ms', 's', 'm', 'h'), (n, unit) => {
        expect(parseDuration(`${n}${unit}`)).toBe(n * units[unit as keyof typeof units]);
      }),
    );
  });
});
