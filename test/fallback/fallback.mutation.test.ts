/**
 * Tests written to kill mutants that survived `npm run mutation` on
 * src/fallback (see docs/testing.md, "Mutation testing"): each pins a
 * behaviour that no other test observed. Named after the behaviour, not the mutant.
 */
import { describe, expect, it } from 'vitest';
import { fallback } from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';
import { ReadCountingClock } from '../helpers/clocks.js';

describe('fallback (fallback/fallback)', () => {
  it("error message names the option 'options'", () => {
    expect(() => fallback(5 as never)).toThrow(new TypeError('fallback: options must be an object, got 5'));
  });

  it("error message names the option 'name'", () => {
    expect(() => fallback({ value: 1, name: '' })).toThrow(
      new TypeError('fallback: name must be a non-empty string, got ""'),
    );
  });

  it('the failure event of a lastKnownGood-only fallback with nothing remembered carries the error', async () => {
    const policy = fallback({ lastKnownGood: { ttl: 1_000 }, clock: new VirtualClock() });
    const failures: unknown[] = [];
    policy.on('failure', (event) => failures.push(event));
    const error = new Error('down');
    await expect(policy.execute(() => Promise.reject(error))).rejects.toBe(error);
    expect(failures).toEqual([{ error }]);
  });

  it('without lastKnownGood, a success is not remembered: the clock is not read', async () => {
    const clock = new ReadCountingClock();
    const policy = fallback({ value: 'default', clock });
    // A success listener makes the executor run the fallback's success step.
    const values: unknown[] = [];
    policy.on('success', ({ value }) => values.push(value));
    expect(await policy.execute(() => 'fresh')).toBe('fresh');
    expect(values).toEqual(['fresh']);
    expect(clock.reads).toBe(0);
    // With lastKnownGood, each success is stamped with the time.
    const remembering = fallback({ value: 'default', lastKnownGood: { ttl: 1_000 }, clock });
    expect(await remembering.execute(() => 'fresh')).toBe('fresh');
    expect(clock.reads).toBe(1);
  });
});
