import { getEventListeners } from 'node:events';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ExecutionContext } from '../../src/core/context.js';
import { PolicyBase } from '../../src/core/policy.js';
import {
  BulkheadFullError,
  bulkhead,
  type Context,
  HEDGE_OPTIONS,
  HedgeCancelledError,
  type HedgeEvents,
  hedge,
  pipeline,
  retry,
  retryBudget,
  timeout,
} from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';
import { track } from '../helpers/work.js';
import { scripted } from './helpers.js';

/** An outer layer that records `ctx.lingering` as a slot holder (bulkhead) sees it when the call exits. */
function lingeringProbe() {
  const lingering: (Promise<void> | undefined)[] = [];
  class Probe extends PolicyBase {
    constructor() {
      super('probe', undefined);
    }
    override _success(ctx: ExecutionContext, token: unknown, value: unknown): unknown {
      lingering.push(ctx.lingering);
      return super._success(ctx, token, value);
    }
  }
  return { probe: new Probe(), lingering };
}

function recordEvents(policy: ReturnType<typeof hedge>) {
  const events: HedgeEvents['hedge'][] = [];
  policy.on('hedge', (e) => events.push(e));
  return events;
}

let unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
beforeEach(() => {
  unhandled = [];
  process.on('unhandledRejection', onUnhandled);
});
afterEach(() => {
  process.off('unhandledRejection', onUnhandled);
});

/** Lets Node report unhandled rejections (it does so after the microtask queue drains). */
async function flushUnhandled(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
}

describe('hedge', () => {
  it('the first attempt finishing before delay starts no hedge; calls share one timer, none per call', async () => {
    const clock = new VirtualClock();
    const policy = hedge({ delay: 100, clock });
    const events = recordEvents(policy);
    const { fn, seen } = scripted(clock, [{ ms: 40, value: 'fast' }]);
    const calls = [track(policy.execute(fn)), track(policy.execute(fn)), track(policy.execute(fn))];
    expect(clock.pending).toBe(4); // each work's own timer, and one hedge timer for all
    await clock.advance(40);
    expect(calls.map((c) => c.value)).toEqual(['fast', 'fast', 'fast']);
    await clock.advance(1_000);
    expect(seen).toHaveLength(3);
    expect(events).toEqual([]);
    expect(policy.stats).toEqual({ calls: 3, hedges: 0, hedgeWins: 0 });
    // The shared timer fired on an empty schedule and was not re-armed.
    expect(clock.pending).toBe(0);
  });

  it('an idle policy holds no timer that keeps the process alive', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const policy = hedge({ delay: 60_000 });
    await policy.execute(async () => 'done');
    await policy.execute(async () => 'done');
    // The shared timer lets go of the process on the next turn of the event loop.
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(timers()).toBe(before);
  });

  it('starts another attempt when the first has not settled after delay (event hedge)', async () => {
    const clock = new VirtualClock();
    const policy = hedge({ delay: 100, clock });
    const events = recordEvents(policy);
    const { fn, seen } = scripted(clock, [
      { ms: 1_000, value: 'slow' },
      { ms: 30, value: 'hedged' },
    ]);
    const call = track(policy.execute(fn));
    await clock.advance(99);
    expect(seen).toHaveLength(1);
    await clock.advance(1);
    expect(seen.map((s) => [s.attempt, s.startedAt])).toEqual([
      [1, 0],
      [2, 100],
    ]);
    expect(events).toEqual([{ attempt: 2, delay: 100, trigger: 'delay' }]);
    await clock.advance(30);
    expect(call).toEqual({ settled: true, value: 'hedged' });
  });

  it('the first success wins and returns at once, without waiting for the others', async () => {
    const clock = new VirtualClock();
    const policy = hedge({ delay: 100, clock });
    // The first attempt ignores its signal and runs on for a long time.
    const { fn, seen } = scripted(clock, [
      { ms: 10_000, value: 'slow', ignoreAbort: true },
      { ms: 50, value: 'hedged' },
    ]);
    const call = track(policy.execute(fn));
    await clock.advance(150);
    expect(call).toEqual({ settled: true, value: 'hedged' });
    expect(seen[0]!.settled).toBe(false);
    expect(policy.stats).toEqual({ calls: 1, hedges: 1, hedgeWins: 1 });
  });

  it('losers are aborted with HedgeCancelledError, each attempt in its own scope numbered 1..n', async () => {
    const clock = new VirtualClock();
    const policy = hedge({ delay: 100, maxHedged: 2, clock });
    const { fn, seen } = scripted(clock, [
      { ms: 10_000, value: 'a' },
      { ms: 150, value: 'b' },
      { ms: 10_000, value: 'c' },
    ]);
    const call = track(policy.execute(fn));
    await clock.advance(250);
    expect(call).toEqual({ settled: true, value: 'b' });
    expect(seen.map((s) => s.attempt)).toEqual([1, 2, 3]);
    expect(new Set(seen.map((s) => s.signal)).size).toBe(3);
    expect(seen[0]!.signal.reason).toBeInstanceOf(HedgeCancelledError);
    expect((seen[0]!.signal.reason as HedgeCancelledError).code).toBe('ERR_HEDGE_CANCELLED');
    expect(seen[2]!.signal.aborted).toBe(true);
    expect(seen[1]!.signal.aborted).toBe(false);
    expect(clock.pending).toBe(0);
  });

  it("losers' outcomes are ignored: a late failure or success never becomes an unhandled rejection", async () => {
    const clock = new VirtualClock();
    const policy = hedge({ delay: 10, maxHedged: 2, clock });
    const { fn } = scripted(clock, [
      { ms: 500, fail: new Error('late failure'), ignoreAbort: true },
      { ms: 10, value: 'winner' },
      { ms: 600, value: 'late success', ignoreAbort: true },
    ]);
    const result = await (async () => {
      const call = policy.execute(fn);
      await clock.advance(20);
      return call;
    })();
    expect(result).toBe('winner');
    await clock.advance(1_000);
    await flushUnhandled();
    expect(unhandled).toEqual([]);
  });

  it('records losers with ctx.linger so a slot holder outside waits until they really settle', async () => {
    const clock = new VirtualClock();
    const { probe, lingering } = lingeringProbe();
    const policy = pipeline(probe, hedge({ delay: 100, clock }));
    const { fn, seen } = scripted(clock, [
      { ms: 1_000, value: 'slow', ignoreAbort: true },
      { ms: 10, value: 'fast' },
    ]);
    const call = track(policy.execute(fn));
    await clock.advance(110);
    expect(call.value).toBe('fast');
    expect(lingering).toHaveLength(1);
    const released = track(lingering[0]!);
    await clock.settle();
    expect(released.settled).toBe(false);
    await clock.advance(890);
    expect(seen[0]!.settled).toBe(true);
    await clock.settle();
    expect(released.settled).toBe(true);
  });

  it('passes on work an inner aggressive timeout let go of, so slots outside stay held', async () => {
    const clock = new VirtualClock();
    const { probe, lingering } = lingeringProbe();
    const policy = pipeline(
      probe,
      hedge({ delay: 1_000, clock }),
      timeout({ ms: 50, strategy: 'aggressive', clock }),
    );
    // Attempt 1 ignores its signal: the aggressive timeout gives up on it at 50 ms.
    const { fn, seen } = scripted(clock, [
      { ms: 500, value: 'stuck', ignoreAbort: true },
      { ms: 10, value: 'second' },
    ]);
    const call = track(policy.execute(fn));
    await clock.advance(60);
    expect(call.value).toBe('second');
    const released = track(lingering[0]!);
    await clock.advance(400);
    expect(released.settled).toBe(false);
    await clock.advance(40);
    expect(seen[0]!.settled).toBe(true);
    await clock.settle();
    expect(released.settled).toBe(true);
  });

  it('a failure of one attempt does not fail the call while others are running', async () => {
    const clock = new VirtualClock();
    const policy = hedge({ delay: 100, clock });
    const { fn } = scripted(clock, [
      { ms: 150, fail: new Error('first failed') },
      { ms: 100, value: 'second' },
    ]);
    const call = track(policy.execute(fn));
    await clock.advance(150);
    expect(call.settled).toBe(false);
    await clock.advance(50);
    expect(call).toEqual({ settled: true, value: 'second' });
  });

  it('an attempt that fails before delay is replaced at once by the next hedge (as Polly)', async () => {
    const clock = new VirtualClock();
    const policy = hedge({ delay: 100, clock });
    const events = recordEvents(policy);
    const { fn, seen } = scripted(clock, [
      { ms: 10, fail: new Error('refused') },
      { ms: 20, value: 'ok' },
    ]);
    const call = track(policy.execute(fn));
    await clock.advance(30);
    expect(seen.map((s) => s.startedAt)).toEqual([0, 10]);
    expect(events).toEqual([{ attempt: 2, delay: 100, trigger: 'failure' }]);
    expect(call).toEqual({ settled: true, value: 'ok' });
    await clock.advance(1_000);
    expect(seen).toHaveLength(2);
  });

  it('a replacement resets the hedge timer: the next hedge is due delay after the newest attempt', async () => {
    const clock = new VirtualClock();
    const policy = hedge({ delay: 100, maxHedged: 2, clock });
    const { fn, seen } = scripted(clock, [
      { ms: 10, fail: new Error('refused') },
      { ms: 1_000, value: 'slow' },
      { ms: 5, value: 'third' },
    ]);
    const call = track(policy.execute(fn));
    await clock.advance(200);
    expect(seen.map((s) => s.startedAt)).toEqual([0, 10, 110]);
    expect(call.value).toBe('third');
  });

  it('with hedgeOn returning false, a failure is not replaced and the call fails when nothing else runs', async () => {
    const clock = new VirtualClock();
    const policy = hedge({ delay: 100, clock, hedgeOn: () => false });
    const { fn, seen } = scripted(clock, [{ ms: 10, fail: new Error('bad request') }]);
    const call = track(policy.execute(fn));
    await clock.advance(10);
    expect(call.error).toEqual(new Error('bad request'));
    await clock.advance(1_000);
    expect(seen).toHaveLength(1);
  });

  it('a hedgeOn that throws fails the call with its error and cancels the other attempts', async () => {
    const clock = new VirtualClock();
    const bug = new Error('bug in hedgeOn');
    const policy = hedge({
      delay: 100,
      maxHedged: 2,
      clock,
      hedgeOn: () => {
        throw bug;
      },
    });
    const { fn, seen } = scripted(clock, [
      { ms: 150, fail: new Error('first') },
      { ms: 1_000, value: 'late' },
    ]);
    const call = track(policy.execute(fn));
    await clock.advance(150);
    expect(call.error).toBe(bug);
    expect(seen[1]!.signal.reason).toBeInstanceOf(HedgeCancelledError);
    await flushUnhandled();
    expect(unhandled).toEqual([]);
  });

  it('a budget that throws when the timer fires fails the call instead of escaping the timer', async () => {
    const clock = new VirtualClock();
    const bug = new Error('bug in budget');
    const budget = {
      recordAttempt() {},
      tryRetry(): boolean {
        throw bug;
      },
    };
    const policy = hedge({ delay: 100, budget, clock });
    const { fn, seen } = scripted(clock, [{ ms: 1_000, value: 'x' }]);
    const call = track(policy.execute(fn));
    await clock.advance(100);
    expect(call.error).toBe(bug);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.signal.aborted).toBe(true);

    const parallel = hedge({ delay: 0, budget, clock });
    const second = track(parallel.execute(fn));
    await clock.settle();
    expect(second.error).toBe(bug);
  });

  it("a budget that throws when the timer fires inside the first attempt's start fails the call", async () => {
    vi.useFakeTimers();
    try {
      const bug = new Error('bug in budget');
      const budget = {
        recordAttempt() {},
        tryRetry(): boolean {
          throw bug;
        },
      };
      const slots = bulkhead({ limit: 1 });
      const policy = pipeline(slots, hedge({ delay: 100, budget }));
      let signal: AbortSignal | undefined;
      const call = policy.execute((ctx) => {
        signal = ctx.signal;
        vi.advanceTimersByTime(200);
        // Work that ignores its signal: the outer slot stays held until it ends.
        return new Promise((resolve) => setTimeout(resolve, 1_000, 'late'));
      });
      await expect(call).rejects.toBe(bug);
      expect(signal?.aborted).toBe(true);
      expect(slots.stats.running).toBe(1);
      await vi.advanceTimersByTimeAsync(1_000);
      expect(slots.stats.running).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('does not replace at once a failure that says retrying is pointless (BulkheadFullError)', async () => {
    const clock = new VirtualClock();
    const policy = hedge({ delay: 100, clock });
    const full = new BulkheadFullError();
    const { fn, seen } = scripted(clock, [{ ms: 1, fail: full }]);
    const call = track(policy.execute(fn));
    await clock.advance(500);
    expect(call.error).toBe(full);
    expect(seen).toHaveLength(1);
  });

  it('when every attempt fails it rejects with the last error (and emits failure)', async () => {
    const clock = new VirtualClock();
    const policy = hedge({ delay: 100, clock });
    const failures: unknown[] = [];
    policy.on('failure', (e) => failures.push(e.error));
    const first = new Error('first');
    const last = new Error('last');
    const { fn } = scripted(clock, [
      { ms: 300, fail: last },
      { ms: 50, fail: first },
    ]);
    const call = track(policy.execute(fn));
    await clock.advance(150);
    expect(call.settled).toBe(false);
    await clock.advance(150);
    expect(call.error).toBe(last);
    expect(failures).toEqual([last]);
  });

  it('emits success with the winning value', async () => {
    const clock = new VirtualClock();
    const policy = hedge({ delay: 10, clock });
    const values: unknown[] = [];
    policy.on('success', (e) => values.push(e.value));
    const { fn } = scripted(clock, [{ ms: 5, value: 42 }]);
    const call = track(policy.execute(fn));
    await clock.advance(5);
    expect(call.value).toBe(42);
    expect(values).toEqual([42]);
  });

  it('runs at most maxHedged extra attempts, one per delay', async () => {
    const clock = new VirtualClock();
    const policy = hedge({ delay: 100, maxHedged: 3, clock });
    const { fn, seen } = scripted(clock, [{ ms: 10_000, value: 'x' }]);
    const call = track(policy.execute(fn));
    await clock.advance(2_000);
    expect(seen.map((s) => s.startedAt)).toEqual([0, 100, 200, 300]);
    await clock.advance(10_000);
    expect(call.value).toBe('x');
    expect(seen).toHaveLength(4);
  });

  it('maxHedged 0 never hedges (the policy only measures)', async () => {
    const clock = new VirtualClock();
    const policy = hedge({ delay: 10, maxHedged: 0, clock });
    const { fn, seen } = scripted(clock, [{ ms: 100, fail: new Error('x') }]);
    const call = track(policy.execute(fn));
    expect(clock.pending).toBe(1);
    await clock.advance(100);
    expect(call.error).toEqual(new Error('x'));
    expect(seen).toHaveLength(1);
  });

  it('delay 0 races every attempt from the start, with no hedge timer', async () => {
    const clock = new VirtualClock();
    const policy = hedge({ delay: 0, maxHedged: 2, clock });
    const events = recordEvents(policy);
    const { fn, seen } = scripted(clock, [
      { ms: 30, value: 'a' },
      { ms: 10, value: 'b' },
      { ms: 20, value: 'c' },
    ]);
    const call = track(policy.execute(fn));
    expect(seen).toHaveLength(3);
    expect(clock.pending).toBe(3);
    expect(events.map((e) => e.trigger)).toEqual(['delay', 'delay']);
    await clock.advance(10);
    expect(call.value).toBe('b');
  });

  it('a hedge never starts when the caller aborted; the call rejects at once with the reason', async () => {
    const clock = new VirtualClock();
    const policy = hedge({ delay: 100, clock });
    const { fn, seen } = scripted(clock, [{ ms: 1_000, value: 'x', ignoreAbort: true }]);
    const controller = new AbortController();
    const call = track(policy.execute(fn, { signal: controller.signal }));
    await clock.advance(50);
    controller.abort(new Error('caller gave up'));
    await clock.settle();
    expect(call.error).toEqual(new Error('caller gave up'));
    await clock.advance(2_000);
    expect(seen).toHaveLength(1);
    await flushUnhandled();
    expect(unhandled).toEqual([]);
  });

  it('a failure after the caller aborted is not replaced', async () => {
    const clock = new VirtualClock();
    const policy = hedge({ delay: 100, clock });
    const { fn, seen } = scripted(clock, [{ ms: 1_000, value: 'x' }]);
    const controller = new AbortController();
    const call = track(policy.execute(fn, { signal: controller.signal }));
    await clock.advance(50);
    controller.abort(new Error('stop'));
    await clock.advance(1_000);
    expect(call.error).toEqual(new Error('stop'));
    expect(seen).toHaveLength(1);
    expect(clock.pending).toBe(0);
  });

  it('starts nothing when its scope is already aborted on entry', async () => {
    const clock = new VirtualClock();
    // A step that admits late (a queue) after an enclosing timeout already fired.
    class LateAdmit extends PolicyBase {
      constructor() {
        super('lateAdmit', undefined);
      }
      override _enter(): unknown {
        return new Promise<undefined>((resolve) => clock.setTimeout(() => resolve(undefined), 100));
      }
    }
    const { fn, seen } = scripted(clock, [{ ms: 1, value: 'x' }]);
    const policy = pipeline(timeout({ ms: 50, clock }), new LateAdmit(), hedge({ delay: 10, clock }));
    const call = track(policy.execute(fn));
    await clock.advance(200);
    expect(seen).toHaveLength(0);
    expect((call.error as Error).name).toBe('TimeoutError');
  });

  it('disposes every forked scope: no listener is left on the caller signal', async () => {
    const clock = new VirtualClock();
    const policy = hedge({ delay: 10, maxHedged: 2, clock });
    const controller = new AbortController();
    const { fn } = scripted(clock, [
      { ms: 100, value: 'a' },
      { ms: 5, value: 'b' },
      { ms: 100, fail: new Error('c') },
    ]);
    for (let i = 0; i < 5; i++) {
      const call = track(policy.execute(fn, { signal: controller.signal }));
      await clock.advance(200);
      expect(call.settled).toBe(true);
    }
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('hedges only within a budget, and records one first attempt per call', async () => {
    const clock = new VirtualClock();
    const budget = retryBudget({ ratio: 0, minPerSecond: 0.1, window: 10_000, clock });
    const policy = hedge({ delay: 100, maxHedged: 3, budget, clock });
    const { fn, seen } = scripted(clock, [{ ms: 1_000, value: 'x' }]);
    const first = track(policy.execute(fn));
    await clock.advance(1_000);
    expect(first.value).toBe('x');
    // The floor allows one hedge in the window, not three.
    expect(seen.map((s) => s.startedAt)).toEqual([0, 100]);
    const second = track(policy.execute(fn));
    await clock.advance(1_000);
    expect(second.value).toBe('x');
    expect(seen).toHaveLength(3);
    expect(budget.stats).toEqual({ attempts: 2, retries: 1, available: 0 });
  });

  it('a failure is not replaced when the budget is spent', async () => {
    const clock = new VirtualClock();
    const budget = retryBudget({ ratio: 0, minPerSecond: 0, clock });
    const policy = hedge({ delay: 100, budget, clock });
    const { fn, seen } = scripted(clock, [{ ms: 10, fail: new Error('x') }]);
    const call = track(policy.execute(fn));
    await clock.advance(10);
    expect(call.error).toEqual(new Error('x'));
    expect(seen).toHaveLength(1);
  });

  it('under an outer retry, only the first attempt of the call is recorded in the budget', async () => {
    const clock = new VirtualClock();
    const budget = retryBudget({ ratio: 0, minPerSecond: 1, clock });
    const policy = pipeline(
      retry({ maxAttempts: 3, backoff: 0, clock }),
      hedge({ delay: 100, budget, clock }),
    );
    const { fn } = scripted(clock, [{ ms: 1, fail: new Error('x') }]);
    const call = track(policy.execute(fn));
    await clock.runAll();
    expect(call.error).toEqual(new Error('x'));
    // 3 retry attempts, each failing at once and replaced once by the hedge.
    expect(budget.stats.attempts).toBe(1);
    expect(budget.stats.retries).toBe(3);
  });

  describe('quantile delay', () => {
    async function run(policy: ReturnType<typeof hedge>, clock: VirtualClock, ms: number) {
      const { fn } = scripted(clock, [{ ms, value: ms }]);
      const call = track(policy.execute(fn));
      await clock.advance(ms);
      expect(call.settled).toBe(true);
    }

    it('does not hedge on a timer before minSamples latencies, unless fallbackDelay says so', async () => {
      const clock = new VirtualClock();
      const policy = hedge({ delay: 'p95', minSamples: 3, clock });
      expect(policy.delay).toBeUndefined();
      const { fn, seen } = scripted(clock, [{ ms: 500, value: 'x' }]);
      policy.execute(fn);
      expect(clock.pending).toBe(1); // the work's timer only
      await clock.advance(500);
      expect(seen).toHaveLength(1);

      const withFallback = hedge({ delay: 'p95', minSamples: 3, fallbackDelay: 50, clock });
      expect(withFallback.delay).toBe(50);
    });

    it('adapts: the delay follows the quantile of recent latencies', async () => {
      const clock = new VirtualClock();
      const policy = hedge({ delay: 'p50', minSamples: 5, sampleSize: 16, maxHedged: 1, clock });
      for (let i = 0; i < 5; i++) await run(policy, clock, 200);
      expect(policy.delay).toBe(200);
      for (let i = 0; i < 16; i++) await run(policy, clock, 20);
      expect(policy.delay).toBe(20);
      expect(policy._health()).toMatchObject({ kind: 'hedge', status: 'ok', delay: 20, maxHedged: 1 });
    });

    it('p99 over a long tail sits in the tail', async () => {
      const clock = new VirtualClock();
      const policy = hedge({ delay: 'p99', minSamples: 100, sampleSize: 200, maxHedged: 0, clock });
      for (let i = 0; i < 200; i++) await run(policy, clock, i % 50 === 0 ? 1_000 : 10 + (i % 7));
      // 4 of 200 samples are 1 000 ms: the 99th percentile is one of them.
      expect(policy.delay).toBe(1_000);
    });

    it('records a beaten first attempt at the time it lost, so hedging does not drag the delay down', async () => {
      const clock = new VirtualClock();
      const policy = hedge({ delay: 'p50', minSamples: 4, sampleSize: 8, clock });
      for (let i = 0; i < 8; i++) await run(policy, clock, 100);
      expect(policy.delay).toBe(100);
      // Now the first attempt is always very slow and the hedge fast: hedges win at 110.
      for (let i = 0; i < 8; i++) {
        const { fn } = scripted(clock, [
          { ms: 5_000, value: 'slow' },
          { ms: 10, value: 'fast' },
        ]);
        const call = track(policy.execute(fn));
        await clock.advance(200);
        expect(call.value).toBe('fast');
      }
      // Winners' own latencies (10 ms) would have pulled it to 10.
      expect(policy.delay).toBe(110);
      expect(policy.stats.hedgeWins).toBe(8);
    });

    it('learns nothing from a call whose first attempt failed (its latency says nothing about success)', async () => {
      const clock = new VirtualClock();
      const policy = hedge({ delay: 'p50', minSamples: 1, sampleSize: 4, clock });
      const { fn } = scripted(clock, [
        { ms: 5, fail: new Error('refused') },
        { ms: 1_000, value: 'ok' },
      ]);
      const call = track(policy.execute(fn));
      await clock.advance(1_005);
      expect(call.value).toBe('ok');
      expect(policy.delay).toBeUndefined();
    });

    it('never goes below minDelay (default 1 ms): an instant dependency is not raced in parallel', async () => {
      const clock = new VirtualClock();
      const policy = hedge({ delay: 'p95', minSamples: 3, clock });
      for (let i = 0; i < 3; i++) await run(policy, clock, 0);
      expect(policy.delay).toBe(1);
      const floored = hedge({ delay: 'p95', minSamples: 3, minDelay: 50, clock });
      for (let i = 0; i < 3; i++) await run(floored, clock, 20);
      expect(floored.delay).toBe(50);
      expect(() => hedge({ delay: 'p95', minDelay: -1 })).toThrow(
        'hedge: minDelay must be a number ≥ 0, got -1',
      );
    });

    it('accepts fractional quantiles like p99.9', () => {
      expect(() => hedge({ delay: 'p99.9' })).not.toThrow();
    });
  });

  it('property: never runs more than 1 + maxHedged attempts', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 4 }),
        fc.integer({ min: 0, max: 100 }),
        fc.array(
          fc.record({ ms: fc.integer({ min: 0, max: 300 }), fails: fc.boolean(), ignoreAbort: fc.boolean() }),
          { minLength: 1, maxLength: 8 },
        ),
        async (maxHedged, delay, steps) => {
          const clock = new VirtualClock();
          const policy = hedge({ delay, maxHedged, clock });
          let started = 0;
          let running = 0;
          let peak = 0;
          const errors: Error[] = [];
          const fn = (ctx: Context) => {
            const step = steps[started % steps.length]!;
            const index = started++;
            running++;
            peak = Math.max(peak, running);
            return new Promise((resolve, reject) => {
              const done = () => {
                running--;
                if (step.fails) {
                  const error = new Error(`attempt ${index + 1}`);
                  errors.push(error);
                  reject(error);
                } else resolve(index + 1);
              };
              const handle = clock.setTimeout(done, step.ms);
              if (!step.ignoreAbort) {
                ctx.signal.addEventListener('abort', () => {
                  clock.clearTimeout(handle);
                  running--;
                  reject(ctx.signal.reason);
                });
              }
            });
          };
          const call = track(policy.execute(fn));
          await clock.runAll();
          expect(started).toBeLessThanOrEqual(1 + maxHedged);
          expect(peak).toBeLessThanOrEqual(1 + maxHedged);
          expect(call.settled).toBe(true);
          // Fails only when every attempt failed, with the last error.
          if (call.error !== undefined) {
            expect(errors).toHaveLength(started);
            expect(call.error).toBe(errors[errors.length - 1]);
          } else {
            expect(typeof call.value).toBe('number');
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('validates options at construction', () => {
    expect(HEDGE_OPTIONS).toContain('delay');
    expect(() => hedge(undefined as never)).toThrow('hedge: options are required: { delay }');
    expect(() => hedge({} as never)).toThrow(
      'hedge: delay must be a number ≥ 0 or a quantile like "p95", got undefined',
    );
    expect(() => hedge({ delay: -1 })).toThrow('hedge: delay must be a number ≥ 0, got -1');
    expect(() => hedge({ delay: 'p0' })).toThrow(RangeError);
    expect(() => hedge({ delay: 'p100' })).toThrow(RangeError);
    expect(() => hedge({ delay: 'fast' as never })).toThrow(/quantile like "p95", got "fast"/);
    expect(() => hedge({ delay: 10, maxHedged: 1.5 })).toThrow(
      'hedge: maxHedged must be an integer ≥ 0, got 1.5',
    );
    expect(() => hedge({ delay: 'p95', minSamples: 0 })).toThrow(/minSamples must be an integer ≥ 1/);
    expect(() => hedge({ delay: 'p95', minSamples: 50, sampleSize: 10 })).toThrow(
      'hedge: sampleSize must be an integer ≥ minSamples (50), got 10',
    );
    expect(() => hedge({ delay: 'p95', fallbackDelay: -5 })).toThrow(/fallbackDelay must be a number ≥ 0/);
    expect(() => hedge({ delay: 10, hedgeOn: true as never })).toThrow(/hedgeOn must be a function/);
    expect(() => hedge({ delay: 10, budget: {} as never })).toThrow(/budget must be a retryBudget/);
    expect(() => hedge({ delay: 10, dealy: 5 } as never)).toThrow(/unknown option "dealy"/);
    expect(() => hedge({ delay: 10, clock: 1 as never })).toThrow(/clock must have now/);
    expect(hedge({ delay: 10, name: 'search' }).name).toBe('search');
    expect(hedge({ delay: 10 }).maxHedged).toBe(1);
    expect(hedge({ delay: 10 }).delay).toBe(10);
  });
});
