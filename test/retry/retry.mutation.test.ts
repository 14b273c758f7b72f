/**
 * Tests written to kill mutants that survived `npm run mutation` on
 * src/retry (see docs/testing.md, "Mutation testing"): each pins a
 * behaviour that no other test observed. Named after the behaviour, not the mutant.
 */
import { describe, expect, it } from 'vitest';
import { pipeline, retry, retryBudget } from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';
import { ReadCountingClock } from '../helpers/clocks.js';

/** A function that throws `failures` times, then returns `value`; counts its calls. */
function flaky<T>(failures: number, value: T): (() => T) & { calls: number } {
  const fn = Object.assign(
    () => {
      fn.calls++;
      if (fn.calls <= failures) throw new Error(`attempt ${fn.calls} failed`);
      return value;
    },
    { calls: 0 },
  );
  return fn;
}

describe('retry (retry/retry)', () => {
  it('a retry without a budget inside one with a budget enters cleanly: nothing fails, nothing is retried', async () => {
    const clock = new VirtualClock();
    const budget = retryBudget({ clock });
    const outer = retry({ budget, clock });
    const retried: unknown[] = [];
    outer.on('retry', (event) => retried.push(event));
    let calls = 0;
    const call = pipeline(outer, retry({ clock })).execute(() => {
      calls++;
      return 'ok';
    });
    await clock.runAll();
    expect(await call).toBe('ok');
    expect(calls).toBe(1);
    expect(retried).toEqual([]);
    expect(budget.stats).toEqual({ attempts: 1, retries: 0, available: 100 });
  });

  it('reads the clock only when maxDuration needs the start time: not per call, not per retry', async () => {
    const clock = new ReadCountingClock();
    const policy = retry({ maxAttempts: 3, backoff: 10, clock });
    const fn = flaky(2, 'ok');
    const call = policy.execute(fn);
    await clock.virtual.runAll();
    expect(await call).toBe('ok');
    expect(fn.calls).toBe(3);
    expect(clock.reads).toBe(0);
    // With maxDuration: the start, then once per retry to check the limit.
    const bounded = retry({ maxAttempts: 3, backoff: 10, maxDuration: 1_000, clock });
    const again = bounded.execute(flaky(2, 'ok'));
    await clock.virtual.runAll();
    expect(await again).toBe('ok');
    expect(clock.reads).toBe(3);
  });

  it('a delay() answer that is not a number (e.g. a raw Retry-After header string) is ignored', async () => {
    const clock = new VirtualClock();
    const policy = retry({
      maxAttempts: 2,
      backoff: 10,
      // Above maxRetryAfter if it were read as a number: retrying would stop at once.
      delay: () => '120000' as never,
      clock,
    });
    const events: unknown[] = [];
    policy.on('retry', ({ attempt, delay }) => events.push(['retry', attempt, delay]));
    policy.on('giveUp', ({ reason }) => events.push(['giveUp', reason]));
    const fn = flaky(1, 'ok');
    const call = policy.execute(fn);
    await clock.runAll();
    expect(await call).toBe('ok');
    expect(events).toEqual([['retry', 1, 10]]);
    expect(clock.now()).toBe(10);
  });

  it('a backoff of -0 is reported as a delay of +0', async () => {
    const clock = new VirtualClock();
    const policy = retry({ maxAttempts: 2, backoff: -0, clock });
    const delays: number[] = [];
    policy.on('retry', ({ delay }) => delays.push(delay));
    const call = policy.execute(flaky(1, 'ok'));
    await clock.runAll();
    expect(await call).toBe('ok');
    expect(delays).toHaveLength(1);
    expect(Object.is(delays[0], 0)).toBe(true);
  });

  it('gives up when the next attempt would start exactly maxDuration after the first began', async () => {
    const clock = new VirtualClock();
    const policy = retry({ maxAttempts: 3, backoff: 100, maxDuration: 100, clock });
    const giveUps: unknown[] = [];
    policy.on('giveUp', ({ attempts, reason }) => giveUps.push({ attempts, reason }));
    const fn = flaky(3, 'ok');
    const call = policy.execute(fn).catch((error: Error) => error.message);
    await clock.runAll();
    expect(await call).toBe('attempt 1 failed');
    expect(fn.calls).toBe(1);
    expect(giveUps).toEqual([{ attempts: 1, reason: 'maxDuration' }]);
    expect(clock.now()).toBe(0);
    // One ms more of room, and the retry at 100 ms runs.
    const roomier = retry({ maxAttempts: 2, backoff: 100, maxDuration: 101, clock });
    const fn2 = flaky(1, 'ok');
    const call2 = roomier.execute(fn2);
    await clock.runAll();
    expect(await call2).toBe('ok');
    expect(fn2.calls).toBe(2);
  });
});
