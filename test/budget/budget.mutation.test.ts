/**
 * Tests written to kill mutants that survived `npm run mutation` on
 * src/budget (see docs/testing.md, "Mutation testing"): each pins a
 * behaviour that no other test observed. Named after the behaviour, not the mutant.
 */
import { describe, expect, it } from 'vitest';
import { retryBudget } from '../../src/index.js';
import { manualClock } from '../helpers/clocks.js';

describe('retryBudget (budget/budget)', () => {
  it('a clock that steps back and then catches up loses no counts: the newest bucket stays the newest', () => {
    const clock = manualClock(50_500);
    const budget = retryBudget({ ratio: 1, minPerSecond: 0, window: 10_000, clock });
    budget.recordAttempt();
    clock.time = 48_500; // two buckets back
    budget.recordAttempt();
    expect(budget.stats).toEqual({ attempts: 2, retries: 0, available: 2 });
    clock.time = 50_500; // back where it was: the buckets in between were never left
    expect(budget.stats).toEqual({ attempts: 2, retries: 0, available: 2 });
    expect(budget.tryRetry()).toBe(true);
    clock.time = 51_500; // a new bucket: nothing expired yet
    expect(budget.stats).toEqual({ attempts: 2, retries: 1, available: 1 });
  });
});
