/**
 * Tests written to kill mutants that survived `npm run mutation` on
 * src/hedge/hedge.ts (see docs/testing.md, "Mutation testing"): each pins a
 * behaviour that no other test observed. Named after the behaviour, not the mutant.
 */
import { describe, expect, it } from 'vitest';
import { isRetryable, ResilienceError } from '../../src/core/errors.js';
import { PolicyBase } from '../../src/core/policy.js';
import {
  HedgeCancelledError,
  type HedgeEvents,
  hedge,
  pipeline,
  retry,
  retryBudget,
} from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';
import { ReadCountingClock } from '../helpers/clocks.js';
import { track } from '../helpers/work.js';
import { type Step, scripted } from './helpers.js';

function recordEvents(policy: ReturnType<typeof hedge>) {
  const hedges: HedgeEvents['hedge'][] = [];
  const successes: unknown[] = [];
  const failures: unknown[] = [];
  policy.on('hedge', (e) => hedges.push(e));
  policy.on('success', (e) => successes.push(e.value));
  policy.on('failure', (e) => failures.push(e.error));
  return { hedges, successes, failures };
}

/** A layer that fails the first call entering it, and lets every later one through. */
class FailsFirstEntry extends PolicyBase {
  private entered = 0;
  constructor() {
    super('failsFirstEntry', undefined);
  }
  override _enter(): unknown {
    if (this.entered++ === 0) throw new Error('refused once');
    return undefined;
  }
}

describe('hedge', () => {
  describe('options', () => {
    it('names the options argument when it is not an object', () => {
      expect(() => hedge(5 as never)).toThrow(new TypeError('hedge: options must be an object, got 5'));
    });

    it('names the name option when it is not a non-empty string', () => {
      expect(() => hedge({ delay: 10, name: 5 as never })).toThrow(
        new TypeError('hedge: name must be a non-empty string, got 5'),
      );
    });

    it('rejects a delay that is neither a number nor a string with its own TypeError (a symbol too)', () => {
      expect(() => hedge({ delay: Symbol('fast') as never })).toThrow(
        new TypeError('hedge: delay must be a number ≥ 0 or a quantile like "p95", got Symbol(fast)'),
      );
    });

    it('a quantile delay is "p" and a number, nothing before it', () => {
      for (const delay of ['xp95', 'delay p95', ' p95']) {
        expect(() => hedge({ delay: delay as never })).toThrow(
          new RangeError(`hedge: delay must be a number ≥ 0 or a quantile like "p95", got "${delay}"`),
        );
      }
    });

    it('accepts quantiles with several decimals and uses them', async () => {
      const clock = new VirtualClock();
      const policy = hedge({ delay: 'p99.95', minSamples: 1, sampleSize: 2, clock });
      const { fn } = scripted(clock, [{ ms: 37, value: 'x' }]);
      const call = track(policy.execute(fn));
      await clock.advance(37);
      expect(call.value).toBe('x');
      expect(policy.delay).toBe(37);
    });

    it('rejects quantiles of 0 % and of 100 % (a number of decimals that rounds to 100)', () => {
      for (const delay of ['p0', 'p0.0', 'p99.99999999999999999']) {
        expect(() => hedge({ delay: delay as never })).toThrow(
          new RangeError(`hedge: delay must be a number ≥ 0 or a quantile like "p95", got "${delay}"`),
        );
      }
      expect(hedge({ delay: 'p0.1' }).delay).toBeUndefined();
      expect(hedge({ delay: 'p99.9999' }).delay).toBeUndefined();
    });

    it('sampleSize must be an integer ≥ 1, whatever minSamples is', () => {
      expect(() => hedge({ delay: 'p95', minSamples: 20, sampleSize: 20.5 })).toThrow(
        new RangeError('hedge: sampleSize must be an integer ≥ 1, got 20.5'),
      );
      expect(() => hedge({ delay: 'p95', minSamples: 1, sampleSize: 0 })).toThrow(
        new RangeError('hedge: sampleSize must be an integer ≥ 1, got 0'),
      );
      expect(() => hedge({ delay: 'p95', sampleSize: '50' as never })).toThrow(
        new TypeError('hedge: sampleSize must be an integer ≥ 1, got "50"'),
      );
    });

    it('sampleSize may be exactly 1 000 000, not more', () => {
      expect(() => hedge({ delay: 'p95', sampleSize: 1_000_001 })).toThrow(
        new RangeError('hedge: sampleSize must be at most 1000000, got 1000001'),
      );
      expect(hedge({ delay: 'p95', sampleSize: 1_000_000 }).delay).toBeUndefined();
    });

    it('sampleSize may equal minSamples', async () => {
      const clock = new VirtualClock();
      const policy = hedge({ delay: 'p50', minSamples: 2, sampleSize: 2, clock });
      const { fn } = scripted(clock, [{ ms: 30, value: 'x' }]);
      for (let i = 0; i < 2; i++) {
        const call = track(policy.execute(fn));
        await clock.advance(30);
        expect(call.value).toBe('x');
      }
      expect(policy.delay).toBe(30);
    });
  });

  it('HedgeCancelledError, the reason losers are aborted with, says retrying is pointless', async () => {
    const error = new HedgeCancelledError();
    expect(error).toBeInstanceOf(ResilienceError);
    expect(error.code).toBe('ERR_HEDGE_CANCELLED');
    expect(error.message).toBe('Another hedged attempt succeeded first; this one was cancelled');
    expect(error.retryable).toBe(false);
    expect(isRetryable(error)).toBe(false);

    const clock = new VirtualClock();
    const policy = hedge({ delay: 10, clock });
    const { fn, seen } = scripted(clock, [
      { ms: 1_000, value: 'slow' },
      { ms: 5, value: 'fast' },
    ]);
    const call = track(policy.execute(fn));
    await clock.advance(15);
    expect(call.value).toBe('fast');
    expect(isRetryable(seen[0]!.signal.reason)).toBe(false);
  });

  it('a zero delay starts every attempt at once, numbering the hedge events 2..n', async () => {
    const clock = new VirtualClock();
    const policy = hedge({ delay: 0, maxHedged: 2, clock });
    const { hedges } = recordEvents(policy);
    const { fn, seen } = scripted(clock, [{ ms: 1_000, value: 'x' }]);
    const call = track(policy.execute(fn));
    expect(hedges).toEqual([
      { attempt: 2, delay: 0, trigger: 'delay' },
      { attempt: 3, delay: 0, trigger: 'delay' },
    ]);
    await clock.advance(1_000);
    expect(call.value).toBe('x');
    expect(seen.map((s) => [s.attempt, s.startedAt])).toEqual([
      [1, 0],
      [2, 0],
      [3, 0],
    ]);
  });

  it('after the last allowed attempt started, the timer starts no other one', async () => {
    const clock = new VirtualClock();
    const policy = hedge({ delay: 100, maxHedged: 1, clock });
    const { fn, seen } = scripted(clock, [{ ms: 1_000, value: 'y' }]);
    const call = track(policy.execute(fn));
    await clock.advance(1_000);
    expect(call.value).toBe('y');
    expect(seen.map((s) => s.startedAt)).toEqual([0, 100]);
    expect(policy.stats).toEqual({ calls: 1, hedges: 1, hedgeWins: 0 });
  });

  it('a zero delay starts the allowed attempts and sets no timer for more', async () => {
    const clock = new VirtualClock();
    const policy = hedge({ delay: 0, maxHedged: 1, clock });
    const { fn, seen } = scripted(clock, [{ ms: 1_000, value: 'x' }]);
    const call = track(policy.execute(fn));
    // The two works' own timers only.
    expect(clock.pending).toBe(2);
    await clock.advance(1_000);
    expect(call.value).toBe('x');
    expect(seen.map((s) => s.startedAt)).toEqual([0, 0]);
    expect(policy.stats).toEqual({ calls: 1, hedges: 1, hedgeWins: 0 });
  });

  it('a loser that succeeds after the call was won changes no stat and emits no second success', async () => {
    const clock = new VirtualClock();
    const policy = hedge({ delay: 10, clock });
    const { successes } = recordEvents(policy);
    const { fn } = scripted(clock, [
      { ms: 500, value: 'late', ignoreAbort: true },
      { ms: 5, value: 'fast' },
    ]);
    const call = track(policy.execute(fn));
    await clock.advance(15);
    expect(call.value).toBe('fast');
    await clock.advance(1_000);
    expect(successes).toEqual(['fast']);
    expect(policy.stats).toEqual({ calls: 1, hedges: 1, hedgeWins: 1 });

    // The other way round: the first attempt wins, a hedge that ignores its signal succeeds later.
    const other = hedge({ delay: 10, clock });
    const events = recordEvents(other);
    const late = scripted(clock, [
      { ms: 15, value: 'first' },
      { ms: 500, value: 'hedge', ignoreAbort: true },
    ]);
    const second = track(other.execute(late.fn));
    await clock.advance(1_000);
    expect(second.value).toBe('first');
    expect(events.successes).toEqual(['first']);
    expect(other.stats).toEqual({ calls: 1, hedges: 1, hedgeWins: 0 });
  });

  it('a loser that fails after the call was won starts no attempt and emits no failure', async () => {
    const clock = new VirtualClock();
    const policy = hedge({ delay: 10, maxHedged: 2, clock });
    const { hedges, failures } = recordEvents(policy);
    const { fn, seen } = scripted(clock, [
      { ms: 500, fail: new Error('late failure'), ignoreAbort: true },
      { ms: 5, value: 'fast' },
    ]);
    const call = track(policy.execute(fn));
    await clock.advance(15);
    expect(call.value).toBe('fast');
    await clock.advance(1_000);
    expect(seen).toHaveLength(2);
    expect(hedges).toHaveLength(1);
    expect(failures).toEqual([]);
    expect(policy.stats).toEqual({ calls: 1, hedges: 1, hedgeWins: 1 });

    // With no attempt left to start, the late failure does not fail the call a second time.
    const single = hedge({ delay: 10, maxHedged: 1, clock });
    const events = recordEvents(single);
    const script = scripted(clock, [
      { ms: 500, fail: new Error('late failure'), ignoreAbort: true },
      { ms: 5, value: 'fast' },
    ]);
    const second = track(single.execute(script.fn));
    await clock.advance(1_000);
    expect(second.value).toBe('fast');
    expect(events.failures).toEqual([]);
    expect(events.successes).toEqual(['fast']);
  });

  describe('quantile delay', () => {
    it('learns from first attempts that win', async () => {
      const clock = new VirtualClock();
      const policy = hedge({ delay: 'p50', minSamples: 1, sampleSize: 4, clock });
      const { fn } = scripted(clock, [{ ms: 40, value: 'x' }]);
      const call = track(policy.execute(fn));
      await clock.advance(40);
      expect(call.value).toBe('x');
      expect(policy.delay).toBe(40);
    });

    it('records the running first attempt when a later hedge wins after another hedge failed', async () => {
      const clock = new VirtualClock();
      const policy = hedge({
        delay: 'p50',
        minSamples: 1,
        sampleSize: 4,
        fallbackDelay: 50,
        maxHedged: 2,
        clock,
      });
      const { fn, seen } = scripted(clock, [
        { ms: 5_000, value: 'slow' },
        { ms: 10, fail: new Error('hedge failed') },
        { ms: 10, value: 'third' },
      ]);
      const call = track(policy.execute(fn));
      await clock.advance(70);
      expect(call.value).toBe('third');
      expect(seen.map((s) => s.startedAt)).toEqual([0, 50, 60]);
      // The first attempt had run 70 ms when it lost: a lower bound of its latency.
      expect(policy.delay).toBe(70);
    });
  });

  describe('clock reads', () => {
    async function call(policy: ReturnType<typeof hedge>, clock: ReadCountingClock, script: Step[]) {
      const { fn } = scripted(clock.virtual, script);
      const result = track(policy.execute(fn));
      await clock.virtual.runAll();
      return result;
    }

    it('a fixed delay that sets no timer never reads the clock', async () => {
      const clock = new ReadCountingClock();
      const single = hedge({ delay: 100, maxHedged: 0, clock });
      expect(await call(single, clock, [{ ms: 5, value: 'a' }])).toEqual({ settled: true, value: 'a' });
      const parallel = hedge({ delay: 0, maxHedged: 1, clock });
      expect(await call(parallel, clock, [{ ms: 5, value: 'b' }])).toEqual({ settled: true, value: 'b' });
      expect(clock.reads).toBe(0);
    });

    it('a quantile delay reads the clock when the first attempt starts and when it wins, not for a replacement', async () => {
      const clock = new ReadCountingClock();
      const policy = hedge({ delay: 'p50', minSamples: 5, clock });
      expect(await call(policy, clock, [{ ms: 5, value: 'a' }])).toEqual({ settled: true, value: 'a' });
      expect(clock.reads).toBe(2);
      clock.reads = 0;
      // No delay yet (too few samples): a failed first attempt is replaced without a timer.
      const replaced = await call(policy, clock, [
        { ms: 5, fail: new Error('refused') },
        { ms: 5, value: 'b' },
      ]);
      expect(replaced).toEqual({ settled: true, value: 'b' });
      expect(clock.reads).toBe(1);
    });
  });

  describe('retry budget', () => {
    it('a hedge without a budget leaves alone the budget an outer retry recorded', async () => {
      const clock = new VirtualClock();
      const budget = retryBudget({ clock });
      const policy = pipeline(
        retry({ maxAttempts: 2, backoff: 0, budget, clock }),
        hedge({ delay: 100, clock }),
      );
      const { fn } = scripted(clock, [{ ms: 5, value: 'ok' }]);
      const call = track(policy.execute(fn));
      await clock.advance(5);
      expect(call).toEqual({ settled: true, value: 'ok' });
      // The first attempt got through: nothing was retried.
      expect(budget.stats).toMatchObject({ attempts: 1, retries: 0 });
    });

    it('a hedge first entered on a later attempt of an outer retry records no first attempt', async () => {
      const clock = new VirtualClock();
      const budget = retryBudget({ clock });
      const policy = pipeline(
        retry({ maxAttempts: 2, backoff: 0, clock }),
        new FailsFirstEntry(),
        hedge({ delay: 100, budget, clock }),
      );
      const { fn, seen } = scripted(clock, [{ ms: 5, value: 'ok' }]);
      const call = track(policy.execute(fn));
      await clock.runAll();
      expect(call).toEqual({ settled: true, value: 'ok' });
      // The work ran once (as the hedge's attempt 1), in the retry's attempt 2.
      expect(seen).toHaveLength(1);
      expect(budget.stats.attempts).toBe(0);
    });
  });
});
