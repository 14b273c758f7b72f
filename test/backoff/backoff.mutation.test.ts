/**
 * Tests written to kill mutants that survived `npm run mutation` on
 * src/backoff (see docs/testing.md, "Mutation testing"): each pins a
 * behaviour that no other test observed. Named after the behaviour, not the mutant.
 */
import { describe, expect, it } from 'vitest';
import { toBackoff } from '../../src/backoff/backoff.js';
import { backoff, retry } from '../../src/index.js';

describe('backoff (backoff/backoff)', () => {
  it("linear: error message names the option 'options'", () => {
    expect(() => backoff.linear(5 as never)).toThrow(
      new TypeError('backoff.linear: options must be an object, got 5'),
    );
  });

  it("exponential: a negative initial is rejected, and the error message names the option 'initial'", () => {
    expect(() => backoff.exponential({ initial: -1 })).toThrow(
      new RangeError('backoff.exponential: initial must be a number ≥ 0, got -1'),
    );
    expect(backoff.exponential({ initial: 0 }).delay(3, 0)).toBe(0);
  });

  it("decorrelatedJitter: error message names the option 'options'", () => {
    expect(() => backoff.decorrelatedJitter('fast' as never)).toThrow(
      new TypeError('backoff.decorrelatedJitter: options must be an object, got "fast"'),
    );
  });

  it("decorrelatedJitter: error message names the option 'random'", () => {
    expect(() => backoff.decorrelatedJitter({ random: 0.5 as never })).toThrow(
      new TypeError('backoff.decorrelatedJitter: random must be a function, got 0.5'),
    );
  });

  it('toBackoff accepts only a number or an object with a delay() method', () => {
    const message = (kind: string) => `retry: backoff must be a number of ms or a backoff, got ${kind}`;
    expect(() => retry({ backoff: {} as never })).toThrow(new TypeError(message('object')));
    expect(() => retry({ backoff: { delay: 100 } as never })).toThrow(new TypeError(message('object')));
    expect(() => retry({ backoff: 'fast' as never })).toThrow(new TypeError(message('string')));
    // A function carrying a delay() method is still not a backoff object.
    const fn = Object.assign(() => 100, { delay: () => 100 });
    expect(() => toBackoff('retry', 'backoff', fn)).toThrow(new TypeError(message('function')));
  });
});
