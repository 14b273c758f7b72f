import { getEventListeners } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { ExecutionContext } from '../../src/core/context.js';
import {
  pipeline,
  RateLimitedError,
  type RateLimitOptions,
  type RateLimitPolicy,
  rateLimit,
  TimeoutError,
  timeout,
} from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';
import { track } from '../helpers/work.js';

/** Runs one call now and reports whether it was admitted, or the error it got. */
async function attempt(policy: RateLimitPolicy, options?: { signal?: AbortSignal }): Promise<true | unknown> {
  return policy.execute(() => true, options).catch((error: unknown) => error);
}

/** Runs `n` calls now and counts the admitted ones. */
async function admitted(policy: RateLimitPolicy, n: number): Promise<number> {
  let count = 0;
  for (let i = 0; i < n; i++) if ((await attempt(policy)) === true) count += 1;
  return count;
}

function retryAfterOf(outcome: unknown): number {
  expect(outcome).toBeInstanceOf(RateLimitedError);
  return (outcome as RateLimitedError).retryAfter;
}

describe('rateLimit options', () => {
  it('needs a type', () => {
    expect(() => rateLimit({ rate: 10 } as never)).toThrow(
      'rateLimit: type must be one of "tokenBucket", "slidingWindow", got undefined',
    );
    expect(() => rateLimit(undefined as never)).toThrow(/options are required/);
    expect(() => rateLimit('fast' as never)).toThrow(/options must be an object/);
  });

  it('rejects options of the other type as unknown', () => {
    expect(() => rateLimit({ type: 'tokenBucket', rate: 10, window: 1000 } as never)).toThrow(
      /unknown option "window"/,
    );
    expect(() => rateLimit({ type: 'slidingWindow', limit: 10, window: 1000, burst: 5 } as never)).toThrow(
      /unknown option "burst"/,
    );
  });

  it('validates each number naming the option and the value', () => {
    expect(() => rateLimit({ type: 'tokenBucket', rate: 0 })).toThrow(
      'rateLimit: rate must be a number > 0, got 0',
    );
    expect(() => rateLimit({ type: 'tokenBucket', rate: 1, per: -5 })).toThrow(
      'rateLimit: per must be a number > 0, got -5',
    );
    expect(() => rateLimit({ type: 'tokenBucket', rate: 5, burst: 0.5 })).toThrow(
      'rateLimit: burst must be a number ≥ 1, got 0.5',
    );
    expect(() => rateLimit({ type: 'slidingWindow', limit: 2.5, window: 1000 })).toThrow(
      'rateLimit: limit must be an integer ≥ 1, got 2.5',
    );
    expect(() => rateLimit({ type: 'slidingWindow', limit: 2, window: 0 })).toThrow(
      'rateLimit: window must be a number > 0, got 0',
    );
    expect(() => rateLimit({ type: 'slidingWindow', limit: 2, window: 10, mode: 'queue' as never })).toThrow(
      'rateLimit: mode must be one of "reject", "wait", got "queue"',
    );
    expect(() =>
      rateLimit({ type: 'slidingWindow', limit: 2, window: 10, mode: 'wait', maxWait: -1 }),
    ).toThrow('rateLimit: maxWait must be a number ≥ 0, got -1');
  });

  it('rejects maxWait without mode wait', () => {
    expect(() => rateLimit({ type: 'tokenBucket', rate: 1, maxWait: 100 })).toThrow(
      'rateLimit: maxWait applies only to mode \'wait\', got mode "reject"',
    );
  });

  it('rejects a cost that could never be admitted', () => {
    expect(() => rateLimit({ type: 'tokenBucket', rate: 5, cost: 6 })).toThrow(
      'rateLimit: cost must be an integer ≥ 1 and ≤ 5, got 6',
    );
    expect(() => rateLimit({ type: 'slidingWindow', limit: 3, window: 10, cost: 0 })).toThrow(RangeError);
  });

  it('defaults per to 1000 ms and burst to rate (at least 1)', async () => {
    const clock = new VirtualClock();
    const p = rateLimit({ type: 'tokenBucket', rate: 5, clock });
    expect(p.stats).toEqual({ available: 5, limit: 5, waiting: 0 });
    expect(p.mode).toBe('reject');
    expect(p.maxWait).toBe(Number.POSITIVE_INFINITY);
    expect(p.type).toBe('tokenBucket');
    await admitted(p, 5);
    expect(retryAfterOf(await attempt(p))).toBe(200);
    expect(rateLimit({ type: 'tokenBucket', rate: 0.5, clock }).stats.limit).toBe(1);
  });
});

describe('rateLimit tokenBucket', () => {
  it('admits a burst of burst calls at once, then rejects', async () => {
    const clock = new VirtualClock();
    const p = rateLimit({ type: 'tokenBucket', rate: 2, per: 1000, burst: 5, clock });
    expect(await admitted(p, 8)).toBe(5);
  });

  it('retryAfter is the exact ms until the next token', async () => {
    const clock = new VirtualClock();
    const p = rateLimit({ type: 'tokenBucket', rate: 10, per: 1000, burst: 10, clock });
    expect(await admitted(p, 10)).toBe(10);
    expect(retryAfterOf(await attempt(p))).toBe(100);
    await clock.advance(37);
    expect(retryAfterOf(await attempt(p))).toBe(63);
    await clock.advance(62);
    expect(retryAfterOf(await attempt(p))).toBe(1);
    await clock.advance(1);
    expect(await attempt(p)).toBe(true);
    expect(retryAfterOf(await attempt(p))).toBe(100);
  });

  it('refills continuously at rate per per ms and never beyond burst', async () => {
    const clock = new VirtualClock();
    const p = rateLimit({ type: 'tokenBucket', rate: 3, per: 300, burst: 4, clock });
    expect(await admitted(p, 4)).toBe(4);
    await clock.advance(200);
    expect(await admitted(p, 4)).toBe(2);
    await clock.advance(60_000);
    expect(p.stats.available).toBe(4);
    expect(await admitted(p, 10)).toBe(4);
  });

  it('supports fractional rates: one token every 2 s', async () => {
    const clock = new VirtualClock();
    const p = rateLimit({ type: 'tokenBucket', rate: 0.5, per: 1000, clock });
    expect(await attempt(p)).toBe(true);
    expect(retryAfterOf(await attempt(p))).toBe(2000);
    await clock.advance(2000);
    expect(await attempt(p)).toBe(true);
  });

  it('refills nothing when the clock steps back', async () => {
    let now = 10_000;
    const clock = { now: () => now, setTimeout: () => 0, clearTimeout: () => {} };
    const p = rateLimit({ type: 'tokenBucket', rate: 1, per: 100, burst: 1, clock });
    expect(await attempt(p)).toBe(true);
    now = 5_000;
    expect(retryAfterOf(await attempt(p))).toBe(100);
    now = 10_100;
    expect(await attempt(p)).toBe(true);
  });
});

describe('rateLimit slidingWindow', () => {
  it('admits exactly limit calls in any window', async () => {
    const clock = new VirtualClock();
    const p = rateLimit({ type: 'slidingWindow', limit: 3, window: 1000, clock });
    expect(await admitted(p, 5)).toBe(3);
    expect(retryAfterOf(await attempt(p))).toBe(1000);
    await clock.advance(999);
    expect(retryAfterOf(await attempt(p))).toBe(1);
    await clock.advance(1);
    expect(await admitted(p, 5)).toBe(3);
  });

  it('slides: permits come back one by one as each admission leaves the window', async () => {
    const clock = new VirtualClock();
    const p = rateLimit({ type: 'slidingWindow', limit: 3, window: 1000, clock });
    for (const at of [0, 200, 400]) {
      await clock.advanceTo(at);
      expect(await attempt(p)).toBe(true);
    }
    await clock.advanceTo(600);
    expect(retryAfterOf(await attempt(p))).toBe(400);
    await clock.advanceTo(1000);
    expect(await admitted(p, 3)).toBe(1);
    expect(retryAfterOf(await attempt(p))).toBe(200);
    await clock.advanceTo(1200);
    expect(await admitted(p, 3)).toBe(1);
  });

  it('is exact across window boundaries, unlike fixed windows', async () => {
    const clock = new VirtualClock({ start: 900 });
    const p = rateLimit({ type: 'slidingWindow', limit: 2, window: 1000, clock });
    expect(await admitted(p, 2)).toBe(2);
    // A fixed window [1000, 2000) would admit two more here: four calls within 200 ms.
    await clock.advanceTo(1100);
    expect(retryAfterOf(await attempt(p))).toBe(800);
    await clock.advanceTo(1900);
    expect(await admitted(p, 3)).toBe(2);
  });

  it('counts a call of cost n as n admissions', async () => {
    const clock = new VirtualClock();
    const p = rateLimit({ type: 'slidingWindow', limit: 5, window: 100, cost: 2, clock });
    expect(await admitted(p, 3)).toBe(2);
    expect(p.stats.available).toBe(1);
    expect(retryAfterOf(await attempt(p))).toBe(100);
  });

  it('keeps its log in order when the clock steps back', async () => {
    let now = 1000;
    const clock = { now: () => now, setTimeout: () => 0, clearTimeout: () => {} };
    const p = rateLimit({ type: 'slidingWindow', limit: 2, window: 100, clock });
    expect(await attempt(p)).toBe(true);
    now = 500;
    expect(await attempt(p)).toBe(true);
    expect(retryAfterOf(await attempt(p))).toBe(100);
    expect(p.stats.available).toBe(0);
    now = 1100;
    expect(await admitted(p, 3)).toBe(2);
  });
});

describe('rateLimit cost', () => {
  it('takes cost permits per call, from a function of the context', async () => {
    const clock = new VirtualClock();
    const p = rateLimit({
      type: 'tokenBucket',
      rate: 10,
      clock,
      cost: (ctx) => (ctx.key === 'bulk' ? 4 : 1),
    });
    expect(await p.execute(() => 'a', { key: 'bulk' })).toBe('a');
    expect(await p.execute(() => 'b', { key: 'bulk' })).toBe('b');
    expect(p.stats.available).toBe(2);
    await expect(p.execute(() => 'c', { key: 'bulk' })).rejects.toMatchObject({ retryAfter: 200 });
    expect(await p.execute(() => 'd')).toBe('d');
  });

  it('rejects a call whose cost function returns an impossible cost', async () => {
    const p = rateLimit({ type: 'slidingWindow', limit: 3, window: 1000, cost: () => 4 });
    const fn = vi.fn();
    await expect(p.execute(fn)).rejects.toThrow('rateLimit: cost() must be an integer ≥ 1 and ≤ 3, got 4');
    expect(fn).not.toHaveBeenCalled();
  });
});

describe('rateLimit mode reject', () => {
  it('rejects with RateLimitedError carrying retryAfter, without running the work', async () => {
    const clock = new VirtualClock();
    const p = rateLimit({ type: 'slidingWindow', limit: 1, window: 500, clock });
    await p.execute(() => 1);
    const fn = vi.fn();
    const error = await p.execute(fn).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error).toMatchObject({ code: 'ERR_RATE_LIMITED', retryAfter: 500 });
    expect((error as Error).message).toBe('Rate limit exceeded; retry after 500 ms');
    expect(fn).not.toHaveBeenCalled();
    expect(clock.pending).toBe(0);
  });

  it('takes a permit synchronously: the work starts inside execute', async () => {
    const p = rateLimit({ type: 'tokenBucket', rate: 1 });
    const fn = vi.fn(() => 'ok');
    const result = p.execute(fn);
    expect(fn).toHaveBeenCalledTimes(1);
    await expect(result).resolves.toBe('ok');
  });
});

describe('rateLimit mode wait', () => {
  const waitLimiter = (clock: VirtualClock, extra: Partial<RateLimitOptions> = {}) =>
    rateLimit({ type: 'tokenBucket', rate: 1, per: 100, burst: 1, mode: 'wait', clock, ...extra } as never);

  it('waits for its permit, then runs', async () => {
    const clock = new VirtualClock();
    const p = waitLimiter(clock);
    const waits: unknown[] = [];
    p.on('wait', (e) => waits.push(e));
    await p.execute(() => 'first');
    const fn = vi.fn(() => 'second');
    const second = track(p.execute(fn));
    expect(waits).toEqual([{ delay: 100 }]);
    await clock.advance(99);
    expect(fn).not.toHaveBeenCalled();
    await clock.advance(1);
    expect(second.value).toBe('second');
    expect(clock.pending).toBe(0);
  });

  it('runs waiters in FIFO order, each at its own permit time, with one timer', async () => {
    const clock = new VirtualClock();
    const p = waitLimiter(clock);
    const starts: [string, number][] = [];
    const run = (name: string) =>
      p.execute(() => {
        starts.push([name, clock.now()]);
      });
    const all = ['a', 'b', 'c', 'd'].map(run);
    expect(clock.pending).toBe(1);
    expect(p.stats.waiting).toBe(3);
    await clock.runAll();
    await Promise.all(all);
    expect(starts).toEqual([
      ['a', 0],
      ['b', 100],
      ['c', 200],
      ['d', 300],
    ]);
    expect(clock.pending).toBe(0);
  });

  it('reserves permits for waiters: a cheaper newcomer does not overtake them', async () => {
    const clock = new VirtualClock();
    const p = rateLimit({
      type: 'tokenBucket',
      rate: 1,
      per: 100,
      burst: 3,
      mode: 'wait',
      clock,
      cost: (ctx) => ctx.priority + 1,
    });
    const starts: string[] = [];
    const run = (name: string, cost: number) =>
      p.execute(
        () => {
          starts.push(name);
        },
        { priority: cost - 1 },
      );
    const first = run('first', 2);
    const big = run('big', 3); // needs 3 tokens; 1 left: waits 200 ms
    await clock.advance(100);
    // 2 tokens now: enough for the newcomer, but they are promised to `big`.
    const small = run('small', 1);
    await clock.advance(100);
    expect(starts).toEqual(['first', 'big']);
    await clock.advance(100);
    await Promise.all([first, big, small]);
    expect(starts).toEqual(['first', 'big', 'small']);
  });

  it('a waiting call whose signal aborts leaves at once, and the next moves up', async () => {
    const clock = new VirtualClock();
    const p = waitLimiter(clock);
    const starts: [string, number][] = [];
    await p.execute(() => 'a');
    const controller = new AbortController();
    const fnB = vi.fn();
    const b = track(p.execute(fnB, { signal: controller.signal }));
    const c = track(
      p.execute(() => {
        starts.push(['c', clock.now()]);
      }),
    );
    await clock.advance(50);
    const reason = new Error('gave up');
    controller.abort(reason);
    expect(p.stats.waiting).toBe(1);
    await clock.settle();
    expect(b.error).toBe(reason);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    // c inherits b's place: it runs at 100, not 200.
    await clock.advance(50);
    expect(starts).toEqual([['c', 100]]);
    expect(c.settled).toBe(true);
    expect(fnB).not.toHaveBeenCalled();
    expect(clock.pending).toBe(0);
  });

  it('when the head aborts, a cheaper call behind it runs as soon as its own permit is there', async () => {
    const clock = new VirtualClock();
    const p = rateLimit({
      type: 'tokenBucket',
      rate: 1,
      per: 100,
      burst: 3,
      mode: 'wait',
      clock,
      cost: (ctx) => ctx.priority,
    });
    await p.execute(() => 'all', { priority: 3 });
    const controller = new AbortController();
    const big = track(p.execute(() => 'big', { priority: 3, signal: controller.signal })); // due at 300
    const starts: number[] = [];
    const small = track(p.execute(() => starts.push(clock.now()), { priority: 1 })); // due at 400 behind big
    await clock.advance(100);
    expect(starts).toEqual([]);
    controller.abort();
    await clock.settle();
    expect(big.error).toBeInstanceOf(DOMException);
    expect(starts).toEqual([100]);
    expect(small.settled).toBe(true);
    expect(clock.pending).toBe(0);
  });

  it('an aborted waiter behind the head does not disturb the head', async () => {
    const clock = new VirtualClock();
    const p = waitLimiter(clock);
    await p.execute(() => 'a');
    const b = track(p.execute(() => 'b'));
    const controller = new AbortController();
    const c = track(p.execute(() => 'c', { signal: controller.signal }));
    controller.abort();
    await clock.settle();
    expect(c.error).toBeInstanceOf(DOMException);
    await clock.advance(100);
    expect(b.value).toBe('b');
    expect(clock.pending).toBe(0);
  });

  it('removes the abort listener of a waiter once admitted', async () => {
    const clock = new VirtualClock();
    const p = waitLimiter(clock);
    await p.execute(() => 'a');
    const controller = new AbortController();
    const b = p.execute(() => 'b', { signal: controller.signal });
    await clock.advance(100);
    await expect(b).resolves.toBe('b');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('clears its timer when the last waiter aborts', async () => {
    const clock = new VirtualClock();
    const p = waitLimiter(clock);
    await p.execute(() => 'a');
    const controller = new AbortController();
    const b = track(p.execute(() => 'b', { signal: controller.signal }));
    expect(clock.pending).toBe(1);
    controller.abort();
    expect(clock.pending).toBe(0);
    await clock.settle();
    expect(b.error).toBeInstanceOf(DOMException);
  });

  it('a timeout outside ends the wait with TimeoutError', async () => {
    const clock = new VirtualClock();
    const limiter = waitLimiter(clock);
    const p = pipeline(timeout({ ms: 50, clock }), limiter);
    await p.execute(() => 'a');
    const fn = vi.fn();
    const b = track(p.execute(fn));
    await clock.advance(50);
    expect(b.error).toBeInstanceOf(TimeoutError);
    expect(limiter.stats.waiting).toBe(0);
    expect(fn).not.toHaveBeenCalled();
  });

  it('does not wait for a context that has already aborted', async () => {
    const clock = new VirtualClock();
    const p = waitLimiter(clock);
    await p.execute(() => 'a');
    const scope = new ExecutionContext(undefined, undefined, 0).fork();
    const reason = new Error('aborted before');
    scope.abort(reason);
    await expect(p._enter(scope) as Promise<unknown>).rejects.toBe(reason);
    expect(p.stats.waiting).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('maxWait: a call whose permit is due later is rejected at once', async () => {
    const clock = new VirtualClock();
    const p = waitLimiter(clock, { maxWait: 150 });
    const rejects: unknown[] = [];
    p.on('reject', (e) => rejects.push(e));
    await p.execute(() => 'a');
    const b = track(p.execute(() => 'b')); // due in 100
    const fn = vi.fn();
    const error = await p.execute(fn).catch((e: unknown) => e); // due in 200 > 150
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error).toMatchObject({ retryAfter: 200 });
    expect((error as Error).message).toMatch(/due in 200 ms, more than maxWait 150 ms/);
    expect(rejects).toEqual([{ retryAfter: 200, reason: 'maxWait' }]);
    expect(fn).not.toHaveBeenCalled();
    await clock.advance(100);
    expect(b.value).toBe('b');
  });

  it('maxWait counts the calls already waiting in a sliding window', async () => {
    const clock = new VirtualClock();
    const p = rateLimit({ type: 'slidingWindow', limit: 2, window: 100, mode: 'wait', maxWait: 150, clock });
    await p.execute(() => 1);
    await p.execute(() => 2);
    const waits: number[] = [];
    p.on('wait', (e) => waits.push(e.delay));
    const third = track(p.execute(() => 3)); // at 100
    const fourth = track(p.execute(() => 4)); // at 100
    const fifth = await p.execute(() => 5).catch((e: unknown) => e); // at 200
    expect(waits).toEqual([100, 100]);
    expect(fifth).toMatchObject({ retryAfter: 200 });
    await clock.advance(100);
    expect([third.value, fourth.value]).toEqual([3, 4]);
  });
});

describe('rateLimit events, stats and health', () => {
  it('emits reject with retryAfter, success and failure', async () => {
    const clock = new VirtualClock();
    const p = rateLimit({ type: 'slidingWindow', limit: 2, window: 1000, clock });
    const events: [string, unknown][] = [];
    p.onAny((name, data) => events.push([name, data]));
    await p.execute(() => 'ok');
    const boom = new Error('boom');
    await p.execute(() => Promise.reject(boom)).catch(() => {});
    await p.execute(() => 'no').catch(() => {});
    expect(events).toEqual([
      ['success', { value: 'ok' }],
      ['failure', { error: boom }],
      ['reject', { retryAfter: 1000, reason: 'limit' }],
    ]);
  });

  it('builds no event when nobody listens', async () => {
    const p = rateLimit({ type: 'tokenBucket', rate: 1 });
    const emit = vi.spyOn(p as unknown as { emit: () => void }, 'emit');
    await p.execute(() => 1);
    await p.execute(() => 1).catch(() => {});
    expect(emit).not.toHaveBeenCalled();
  });

  it('reports available permits, the limit and waiting calls', async () => {
    const clock = new VirtualClock();
    const p = rateLimit({ type: 'slidingWindow', limit: 3, window: 100, mode: 'wait', clock });
    expect(p.stats).toEqual({ available: 3, limit: 3, waiting: 0 });
    await p.execute(() => 1);
    expect(p.stats.available).toBe(2);
    await p.execute(() => 1);
    await p.execute(() => 1);
    const waiting = p.execute(() => 1);
    expect(p.stats).toEqual({ available: 0, limit: 3, waiting: 1 });
    await clock.advance(100);
    await waiting;
    expect(p.stats).toEqual({ available: 2, limit: 3, waiting: 0 });
  });

  it('health is ok with a permit available and degraded without one', async () => {
    const clock = new VirtualClock();
    const p = rateLimit({ type: 'tokenBucket', rate: 1, per: 1000, name: 'api', clock });
    expect(p._health()).toEqual({
      kind: 'rateLimit',
      name: 'api',
      status: 'ok',
      type: 'tokenBucket',
      mode: 'reject',
      available: 1,
      limit: 1,
      waiting: 0,
      rejected: 0,
    });
    await p.execute(() => 1);
    await p.execute(() => 1).catch(() => {});
    expect(p._health()).toMatchObject({ status: 'degraded', available: 0, rejected: 1 });
    await clock.advance(1000);
    expect(p._health().status).toBe('ok');
  });
});
