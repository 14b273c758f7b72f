/**
 * Tests written to kill mutants that survived `npm run mutation` on
 * src/rate-limit (see docs/testing.md, "Mutation testing"): each pins a
 * behaviour that no other test observed. Named after the behaviour, not the mutant.
 */
import { describe, expect, it } from 'vitest';
import type { Clock } from '../../src/core/clock.js';
import { RateLimitedError, type RateLimitPolicy, rateLimit } from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';
import { ReadCountingClock } from '../helpers/clocks.js';

/** Starts a call of `cost` permits; returns its outcome once it settles. */
function call(policy: RateLimitPolicy, cost = 1, signal?: AbortSignal): Promise<unknown> {
  return policy.execute(() => 'ran', { key: cost, signal }).catch((error: unknown) => error);
}

/** The delays of the `wait` events the policy emits. */
function waits(policy: RateLimitPolicy): number[] {
  const delays: number[] = [];
  policy.on('wait', (e) => delays.push(e.delay));
  return delays;
}

/** A clock the test sets by hand; timers never fire. */
function manualClock(start: number): Clock & { set(now: number): void } {
  let now = start;
  return {
    now: () => now,
    set: (value: number) => {
      now = value;
    },
    setTimeout: () => 0,
    clearTimeout: () => {},
  };
}

const costOfKey = { cost: (ctx: { key?: unknown }) => ctx.key as number };

describe('rateLimit options', () => {
  it('names the option in its message', () => {
    expect(() => rateLimit({ type: 'tokenBucket', rate: 1, name: 5 as never })).toThrow(/^rateLimit: name /);
  });

  it('a sliding window holds at most 1 000 000 permits', () => {
    expect(() => rateLimit({ type: 'slidingWindow', limit: 1_000_001, window: 1_000 })).toThrow(
      new RangeError(
        'rateLimit: limit must be at most 1000000 (one timestamp is kept per permit), got 1000001',
      ),
    );
    expect(rateLimit({ type: 'slidingWindow', limit: 1_000_000, window: 1_000 }).stats.limit).toBe(1_000_000);
  });

  it('maxWait may be Infinity', () => {
    expect(rateLimit({ type: 'tokenBucket', rate: 1, mode: 'wait', maxWait: Infinity }).maxWait).toBe(
      Infinity,
    );
  });
});

describe('rateLimit wait mode bookkeeping', () => {
  it('stats report no permit available while calls wait, even with part of one refilled', async () => {
    const clock = new VirtualClock();
    const p = rateLimit({ type: 'tokenBucket', rate: 1, burst: 2, mode: 'wait', clock, ...costOfKey });
    await call(p, 2);
    const waiting = call(p, 2);
    await clock.advance(1_000);
    expect(p.stats).toMatchObject({ available: 0, waiting: 1 });
    await clock.advance(1_000);
    await expect(waiting).resolves.toBe('ran');
  });

  it('a permit due in exactly maxWait ms is waited for', async () => {
    const clock = new VirtualClock();
    const p = rateLimit({ type: 'tokenBucket', rate: 1, burst: 1, mode: 'wait', maxWait: 1_000, clock });
    await call(p);
    const second = call(p);
    await clock.advance(1_000);
    await expect(second).resolves.toBe('ran');
  });

  it('a waiter that aborts behind the head no longer counts for the calls after it', async () => {
    const clock = new VirtualClock();
    const p = rateLimit({ type: 'tokenBucket', rate: 1, burst: 1, mode: 'wait', maxWait: 2_000, clock });
    const delays = waits(p);
    await call(p);
    const head = call(p);
    const controller = new AbortController();
    const behind = call(p, 1, controller.signal);
    controller.abort(new Error('gone'));
    await expect(behind).resolves.toMatchObject({ message: 'gone' });
    const next = call(p);
    expect(delays).toEqual([1_000, 2_000, 2_000]);
    await clock.advance(2_000);
    await expect(Promise.all([head, next])).resolves.toEqual(['ran', 'ran']);
  });

  it('a waiter that aborts behind the head leaves the head’s timer alone: the clock is not even read', async () => {
    const clock = new ReadCountingClock();
    const p = rateLimit({ type: 'tokenBucket', rate: 1, burst: 1, mode: 'wait', clock });
    await call(p);
    const head = call(p);
    const controller = new AbortController();
    const behind = call(p, 1, controller.signal);
    const reads = clock.reads;
    controller.abort(new Error('gone'));
    await expect(behind).resolves.toMatchObject({ message: 'gone' });
    expect(clock.reads).toBe(reads);
    expect(clock.virtual.pending).toBe(1);
    await clock.virtual.advance(1_000);
    await expect(head).resolves.toBe('ran');
    expect(clock.virtual.pending).toBe(0);
  });

  it('a waiter admitted no longer counts for the calls after it', async () => {
    const clock = new VirtualClock();
    const p = rateLimit({ type: 'tokenBucket', rate: 1, burst: 1, mode: 'wait', maxWait: 2_000, clock });
    const delays = waits(p);
    await call(p);
    const first = call(p);
    const second = call(p);
    await clock.advance(1_000);
    await expect(first).resolves.toBe('ran');
    const third = call(p);
    expect(delays).toEqual([1_000, 2_000, 2_000]);
    await clock.advance(3_000);
    await expect(Promise.all([second, third])).resolves.toEqual(['ran', 'ran']);
  });
});

describe('rateLimit tokenBucket waits', () => {
  it('a call queued behind another waits for both, counting what has refilled', async () => {
    const clock = new VirtualClock();
    const p = rateLimit({ type: 'tokenBucket', rate: 2, burst: 2, mode: 'wait', clock, ...costOfKey });
    const delays = waits(p);
    await call(p, 2);
    await clock.advance(250);
    const a = call(p, 2);
    const b = call(p, 1);
    expect(delays).toEqual([750, 1_250]);
    await clock.advance(1_250);
    await expect(Promise.all([a, b])).resolves.toEqual(['ran', 'ran']);
  });

  it('a call queued behind a waiter whose timer is late is told to wait 0 ms, never a negative time', async () => {
    // Timers never fire on this clock: the head's permit is long due when the next call comes.
    const clock = manualClock(1_000);
    const p = rateLimit({ type: 'tokenBucket', rate: 1, burst: 3, mode: 'wait', clock });
    const delays = waits(p);
    await Promise.all([call(p), call(p), call(p)]);
    void call(p);
    clock.set(5_000);
    void call(p);
    expect(delays).toEqual([1_000, 0]);
  });
});

describe('rateLimit slidingWindow waits and stats', () => {
  it('a call queued behind another waits for the next-oldest admission to leave the window', async () => {
    const clock = new VirtualClock();
    const p = rateLimit({ type: 'slidingWindow', limit: 2, window: 1_000, mode: 'wait', clock });
    const delays = waits(p);
    await call(p);
    await clock.advance(100);
    await call(p);
    const a = call(p);
    const b = call(p);
    expect(delays).toEqual([900, 1_000]);
    await clock.advance(1_000);
    await expect(Promise.all([a, b])).resolves.toEqual(['ran', 'ran']);
  });

  it('the wait of a queued call is measured from now, not from the last admission', async () => {
    const clock = new VirtualClock();
    const p = rateLimit({ type: 'slidingWindow', limit: 1, window: 1_000, mode: 'wait', clock });
    const delays = waits(p);
    await call(p);
    const a = call(p);
    await clock.advance(500);
    const b = call(p);
    expect(delays).toEqual([1_000, 1_500]);
    await clock.advance(1_500);
    await expect(Promise.all([a, b])).resolves.toEqual(['ran', 'ran']);
  });

  it('a queued call’s wait after the clock stepped back is measured from the last admission', async () => {
    const clock = manualClock(1_000);
    const p = rateLimit({ type: 'slidingWindow', limit: 1, window: 100, mode: 'wait', clock });
    const delays = waits(p);
    await call(p);
    clock.set(1_050);
    void call(p);
    clock.set(900);
    void call(p);
    expect(delays).toEqual([50, 200]);
  });

  it('available counts the admissions that left the window by now', async () => {
    const clock = new VirtualClock();
    const p = rateLimit({ type: 'slidingWindow', limit: 1, window: 1_000, clock });
    await call(p);
    await clock.advance(1_000);
    expect(p.stats.available).toBe(1);
  });

  it('available after the clock stepped back is read at the last admission', async () => {
    const clock = manualClock(1_000);
    const p = rateLimit({ type: 'slidingWindow', limit: 2, window: 100, clock });
    await call(p);
    clock.set(1_200);
    await call(p);
    clock.set(1_050);
    expect(p.stats.available).toBe(1);
    expect(await call(p)).toBe('ran');
    expect(await call(p)).toBeInstanceOf(RateLimitedError);
  });
});
