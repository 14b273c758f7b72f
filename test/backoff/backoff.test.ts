import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toBackoff } from '../../src/backoff/backoff.js';
import { type Backoff, backoff } from '../../src/index.js';

/** A random source that plays back `values` in a loop. */
function sequence(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}

/** The first `n` delays, feeding each back as `previous` as retry does. */
function delays(b: Backoff, n: number): number[] {
  const out: number[] = [];
  let previous = 0;
  for (let retry = 1; retry <= n; retry++) {
    previous = b.delay(retry, previous);
    out.push(previous);
  }
  return out;
}

describe('backoff.constant', () => {
  it('waits the same delay before every retry, without jitter by default', () => {
    expect(delays(backoff.constant(250), 4)).toEqual([250, 250, 250, 250]);
    expect(delays(backoff.constant(0), 2)).toEqual([0, 0]);
  });

  it('applies jitter when asked', () => {
    expect(delays(backoff.constant(100, { jitter: 'full', random: sequence(0.5, 0) }), 2)).toEqual([50, 0]);
    expect(delays(backoff.constant(100, { jitter: 'equal', random: sequence(0, 0.5) }), 2)).toEqual([50, 75]);
  });

  it('validates ms and its options', () => {
    expect(() => backoff.constant(Number.NaN)).toThrow('backoff.constant: ms must be a number ≥ 0, got NaN');
    expect(() => backoff.constant(10, { jiter: 'full' } as never)).toThrow(/unknown option "jiter"/);
    expect(() => backoff.constant(10, 'full' as never)).toThrow(
      'backoff.constant: options must be an object, got "full"',
    );
    expect(() => backoff.constant(10, { jitter: 'half' as never })).toThrow(
      'backoff.constant: jitter must be one of "full", "equal", "none", got "half"',
    );
    expect(() => backoff.constant(10, { random: 0.5 as never })).toThrow(
      'backoff.constant: random must be a function, got 0.5',
    );
  });
});

describe('backoff.linear', () => {
  it('adds step per retry from initial (step defaults to initial), capped at max', () => {
    expect(delays(backoff.linear({ initial: 100, step: 50, max: 220 }), 5)).toEqual([
      100, 150, 200, 220, 220,
    ]);
    expect(delays(backoff.linear({ initial: 100 }), 3)).toEqual([100, 200, 300]);
    expect(delays(backoff.linear(), 3)).toEqual([100, 200, 300]);
  });

  it('caps at 30 s by default, or at initial when that is larger', () => {
    expect(backoff.linear({ initial: 1_000 }).delay(100, 0)).toBe(30_000);
    expect(backoff.linear({ initial: 40_000, step: 1 }).delay(5, 0)).toBe(40_000);
    expect(backoff.linear({ initial: 1, max: Number.POSITIVE_INFINITY }).delay(1_000, 0)).toBe(1_000);
  });

  it('supports jitter', () => {
    expect(backoff.linear({ initial: 100, jitter: 'full', random: () => 0.25 }).delay(2, 0)).toBe(50);
  });

  it('validates its options', () => {
    expect(() => backoff.linear({ initial: -1 })).toThrow(
      'backoff.linear: initial must be a number ≥ 0, got -1',
    );
    expect(() => backoff.linear({ step: -1 })).toThrow('backoff.linear: step must be a number ≥ 0, got -1');
    expect(() => backoff.linear({ initial: 100, max: 50 })).toThrow(
      'backoff.linear: max must be a number ≥ 100, got 50',
    );
    expect(() => backoff.linear({ steps: 1 } as never)).toThrow(/unknown option "steps"/);
  });
});

describe('backoff.exponential', () => {
  it('defaults to 100 ms × 2^(retry−1), full jitter, capped at 30 s', () => {
    const b = backoff.exponential({ random: () => 1 - Number.EPSILON });
    const top = delays(b, 12).map(Math.round);
    expect(top).toEqual([100, 200, 400, 800, 1_600, 3_200, 6_400, 12_800, 25_600, 30_000, 30_000, 30_000]);
    const bottom = delays(backoff.exponential({ random: () => 0 }), 5);
    expect(bottom).toEqual([0, 0, 0, 0, 0]);
  });

  it('without jitter follows initial × factor^(retry−1) up to max', () => {
    const b = backoff.exponential({ initial: 10, factor: 3, max: 500, jitter: 'none' });
    expect(delays(b, 6)).toEqual([10, 30, 90, 270, 500, 500]);
  });

  it('full jitter spreads over [0, delay], equal jitter over [delay/2, delay]', () => {
    const full = backoff.exponential({ initial: 100, jitter: 'full', random: sequence(0.5) });
    expect(delays(full, 3)).toEqual([50, 100, 200]);
    const equal = backoff.exponential({ initial: 100, jitter: 'equal', random: sequence(0, 0.5, 0.999) });
    expect(delays(equal, 3)).toEqual([50, 150, 399.8]);
  });

  it('clamps a random source that strays out of [0, 1]', () => {
    const low = backoff.exponential({ initial: 100, jitter: 'full', random: () => -3 });
    const high = backoff.exponential({ initial: 100, jitter: 'equal', random: () => 7 });
    expect(low.delay(1, 0)).toBe(0);
    expect(high.delay(1, 0)).toBe(100);
  });

  it('never overflows past the cap, even after many retries', () => {
    const b = backoff.exponential({ jitter: 'none' });
    expect(b.delay(10_000, 0)).toBe(30_000);
  });

  it('an initial of 0 stays 0 after many retries instead of becoming NaN (0 × Infinity)', () => {
    expect(backoff.exponential({ initial: 0, jitter: 'none' }).delay(2_000, 0)).toBe(0);
    expect(backoff.exponential({ initial: 0, random: () => 0.5 }).delay(2_000, 0)).toBe(0);
  });

  it('equal jitter never exceeds the delay, even for subnormal delays where halving rounds', () => {
    const tiny = 1.5e-323;
    expect(backoff.constant(tiny, { jitter: 'equal', random: () => 0.75 }).delay(1, 0)).toBeLessThanOrEqual(
      tiny,
    );
  });

  it('validates its options', () => {
    expect(() => backoff.exponential({ initial: Number.POSITIVE_INFINITY })).toThrow(RangeError);
    expect(() => backoff.exponential({ initial: 200, max: 100 })).toThrow(
      'backoff.exponential: max must be a number ≥ 200, got 100',
    );
    expect(() => backoff.exponential({ factor: '2' as never })).toThrow(TypeError);
    expect(() => backoff.exponential({ jitter: 'random' as never })).toThrow(/jitter must be one of/);
    expect(() => backoff.exponential([] as never)).toThrow(
      'backoff.exponential: options must be an object, got an array',
    );
  });
});

describe('backoff.decorrelatedJitter', () => {
  it('picks each delay between initial and three times the previous one, capped at max', () => {
    const b = backoff.decorrelatedJitter({ initial: 100, max: 1_000, random: () => 1 });
    // previous 0 → [100, 300]; then [100, 900]; then [100, 2700] capped at 1000
    expect(delays(b, 4)).toEqual([300, 900, 1_000, 1_000]);
    const low = backoff.decorrelatedJitter({ initial: 100, max: 1_000, random: () => 0 });
    expect(delays(low, 3)).toEqual([100, 100, 100]);
    const mid = backoff.decorrelatedJitter({ initial: 100, max: 10_000, random: () => 0.5 });
    expect(mid.delay(3, 400)).toBe(100 + (1_200 - 100) * 0.5);
  });

  it('defaults to initial 100 ms, cap 30 s', () => {
    const b = backoff.decorrelatedJitter({ random: () => 1 });
    expect(b.delay(1, 0)).toBe(300);
    expect(b.delay(2, 20_000)).toBe(30_000);
    expect(backoff.decorrelatedJitter().delay(1, 0)).toBeGreaterThanOrEqual(100);
  });

  it('clamps a stray random source', () => {
    expect(backoff.decorrelatedJitter({ random: () => -1 }).delay(1, 0)).toBe(100);
    expect(backoff.decorrelatedJitter({ random: () => 2 }).delay(1, 0)).toBe(300);
  });

  it('validates its options', () => {
    expect(() => backoff.decorrelatedJitter({ initial: -5 })).toThrow(
      'backoff.decorrelatedJitter: initial must be a number ≥ 0, got -5',
    );
    expect(() => backoff.decorrelatedJitter({ jitter: 'full' } as never)).toThrow(/unknown option "jitter"/);
    expect(() => backoff.decorrelatedJitter({ initial: 10, max: 5 })).toThrow(
      /max must be a number ≥ 10, got 5/,
    );
  });
});

describe('toBackoff', () => {
  it('turns a number into a constant backoff and passes a backoff through', () => {
    expect(toBackoff('p', 'backoff', undefined)).toBeUndefined();
    expect(toBackoff('p', 'backoff', 25)!.delay(7, 0)).toBe(25);
    const b = backoff.constant(1);
    expect(toBackoff('p', 'backoff', b)).toBe(b);
    expect(() => toBackoff('p', 'backoff', null)).toThrow(
      'p: backoff must be a number of ms or a backoff, got object',
    );
  });
});

// ---- properties -------------------------------------------------------------

const retryNumber = fc.integer({ min: 1, max: 2_000 });
const randomValue = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
const ms = fc.double({ min: 0, max: 1e7, noNaN: true });
const jitter = fc.constantFrom('full' as const, 'equal' as const, 'none' as const);

/** [initial, max] with initial ≤ max. */
const initialAndMax = fc.tuple(ms, ms).map(([a, b]): [number, number] => (a <= b ? [a, b] : [b, a]));

describe('properties', () => {
  it('exponential delays stay within [0, max], and ≥ half the un-jittered delay with equal jitter', () => {
    fc.assert(
      fc.property(
        initialAndMax,
        fc.double({ min: 1, max: 10, noNaN: true }),
        jitter,
        randomValue,
        retryNumber,
        ([initial, max], factor, j, r, n) => {
          const d = backoff.exponential({ initial, max, factor, jitter: j, random: () => r }).delay(n, 0);
          const base = initial === 0 ? 0 : Math.min(initial * factor ** (n - 1), max);
          expect(d).toBeGreaterThanOrEqual(0);
          expect(d).toBeLessThanOrEqual(max);
          if (j === 'equal') expect(d).toBeGreaterThanOrEqual(base / 2);
          if (j === 'none') expect(d).toBe(base);
        },
      ),
    );
  });

  it('linear delays stay within [0, max], and ≥ half the un-jittered delay with equal jitter', () => {
    fc.assert(
      fc.property(initialAndMax, ms, jitter, randomValue, retryNumber, ([initial, max], step, j, r, n) => {
        const d = backoff.linear({ initial, step, max, jitter: j, random: () => r }).delay(n, 0);
        const base = Math.min(initial + step * (n - 1), max);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThanOrEqual(max);
        if (j === 'equal') expect(d).toBeGreaterThanOrEqual(base / 2);
      }),
    );
  });

  it('constant delays stay within [0, ms]', () => {
    fc.assert(
      fc.property(ms, jitter, randomValue, retryNumber, (delay, j, r, n) => {
        const d = backoff.constant(delay, { jitter: j, random: () => r }).delay(n, 0);
        expect(d).toBeGreaterThanOrEqual(j === 'equal' ? delay / 2 : 0);
        expect(d).toBeLessThanOrEqual(delay);
      }),
    );
  });

  it('decorrelated jitter delays stay within [initial, max] whatever the previous delay', () => {
    fc.assert(
      fc.property(
        initialAndMax,
        fc.array(randomValue, { minLength: 1, maxLength: 30 }),
        ([initial, max], randoms) => {
          const b = backoff.decorrelatedJitter({ initial, max, random: sequence(...randoms) });
          for (const d of delays(b, randoms.length)) {
            expect(d).toBeGreaterThanOrEqual(initial);
            expect(d).toBeLessThanOrEqual(max);
          }
        },
      ),
    );
  });

  it('any random value, even out of [0, 1), gives a delay within bounds', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true }), jitter, (r, j) => {
        const d = backoff.exponential({ initial: 100, max: 1_000, jitter: j, random: () => r }).delay(3, 0);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThanOrEqual(1_000);
      }),
    );
  });
});
