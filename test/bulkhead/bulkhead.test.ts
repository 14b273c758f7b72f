import { getEventListeners } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import {
  BulkheadFullError,
  bulkhead,
  hedge,
  pipeline,
  RateLimitedError,
  rateLimit,
  retry,
  TimeoutError,
  timeout,
} from '../../src/index.js';
import { ExecutionContext } from '../../src/core/context.js';
import { VirtualClock } from '../../src/testing/index.js';

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function deferred<T = string>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every queued promise reaction run. */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Records the outcome of a promise without letting it go unhandled. */
function track<T>(promise: Promise<T>) {
  const state: { settled: number; value?: T; error?: unknown } = { settled: 0 };
  promise.then(
    (value) => {
      state.settled += 1;
      state.value = value;
    },
    (error: unknown) => {
      state.settled += 1;
      state.error = error;
    },
  );
  return state;
}

describe('bulkhead options', () => {
  it('accepts a number as the limit', () => {
    const b = bulkhead(3);
    expect(b.stats).toEqual({ running: 0, queued: 0, limit: 3, queue: 0 });
    expect(b.kind).toBe('bulkhead');
    expect(b.name).toBe('bulkhead');
  });

  it('defaults queue to 0 and queueTimeout to no limit', () => {
    const b = bulkhead({ limit: 2, name: 'db' });
    expect(b.queue).toBe(0);
    expect(b.queueTimeout).toBe(Number.POSITIVE_INFINITY);
    expect(b.name).toBe('db');
  });

  it('rejects invalid options naming the option and the value', () => {
    expect(() => bulkhead({ limit: 0 })).toThrow('bulkhead: limit must be an integer ≥ 1, got 0');
    expect(() => bulkhead({ limit: 1.5 })).toThrow(RangeError);
    expect(() => bulkhead({} as never)).toThrow('bulkhead: limit must be an integer ≥ 1, got undefined');
    expect(() => bulkhead({ limit: 1, queue: -1 })).toThrow('bulkhead: queue must be an integer ≥ 0, got -1');
    expect(() => bulkhead({ limit: 1, queueTimeout: 0 })).toThrow(
      'bulkhead: queueTimeout must be a number > 0, got 0',
    );
    expect(() => bulkhead({ limit: 1, qeue: 3 } as never)).toThrow(/unknown option "qeue"/);
    expect(() => bulkhead(undefined as never)).toThrow(TypeError);
    expect(() => bulkhead({ limit: 1, clock: {} as never })).toThrow(/clock must have now/);
    expect(() => bulkhead({ limit: 1, name: '' })).toThrow(/name must be a non-empty string/);
  });

  it('accepts an unbounded queue', () => {
    expect(bulkhead({ limit: 1, queue: Number.POSITIVE_INFINITY }).queue).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('bulkhead', () => {
  it('never runs more than limit calls at once', async () => {
    const b = bulkhead({ limit: 2, queue: 10 });
    let active = 0;
    let maxActive = 0;
    const gates = Array.from({ length: 6 }, () => deferred());
    const results = gates.map((gate, i) =>
      b.execute(async () => {
        active += 1;
        maxActive = Math.max(maxActive, active);
        const value = await gate.promise;
        active -= 1;
        return `${value}${i}`;
      }),
    );
    await flush();
    expect(active).toBe(2);
    expect(b.stats).toMatchObject({ running: 2, queued: 4 });
    for (const gate of gates) {
      gate.resolve('v');
      await flush();
      expect(active).toBeLessThanOrEqual(2);
    }
    expect(await Promise.all(results)).toEqual(['v0', 'v1', 'v2', 'v3', 'v4', 'v5']);
    expect(maxActive).toBe(2);
    expect(b.stats).toMatchObject({ running: 0, queued: 0 });
  });

  it('takes a free slot synchronously: the work starts inside execute', () => {
    const b = bulkhead({ limit: 1 });
    const fn = vi.fn(() => 'ok');
    const result = b.execute(fn);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(b.stats.running).toBe(1);
    return expect(result).resolves.toBe('ok');
  });

  it('rejects with BulkheadFullError when every slot and queue place is taken', async () => {
    const b = bulkhead({ limit: 1, queue: 1 });
    const gate = deferred();
    const first = b.execute(() => gate.promise);
    const second = b.execute(() => 'second');
    const fn = vi.fn();
    const error = await b.execute(fn).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BulkheadFullError);
    expect(error).toMatchObject({ code: 'ERR_BULKHEAD_FULL', retryable: false });
    expect((error as Error).message).toMatch(/1 running, limit 1; 1 queued, queue 1/);
    expect(fn).not.toHaveBeenCalled();
    gate.resolve('first');
    await expect(first).resolves.toBe('first');
    await expect(second).resolves.toBe('second');
  });

  it('rejects at once with the default queue of 0', async () => {
    const b = bulkhead({ limit: 1 });
    const gate = deferred();
    const first = b.execute(() => gate.promise);
    await expect(b.execute(() => 'x')).rejects.toBeInstanceOf(BulkheadFullError);
    gate.resolve('done');
    await first;
  });

  it('runs queued calls in FIFO order', async () => {
    const b = bulkhead({ limit: 1, queue: 5 });
    const order: number[] = [];
    const gate = deferred();
    const first = b.execute(() => gate.promise);
    const rest = [1, 2, 3, 4, 5].map((i) =>
      b.execute(() => {
        order.push(i);
      }),
    );
    gate.resolve('go');
    await Promise.all([first, ...rest]);
    expect(order).toEqual([1, 2, 3, 4, 5]);
  });

  it('hands a freed slot to the queue head: a newcomer cannot jump the queue', async () => {
    const b = bulkhead({ limit: 1, queue: 1 });
    const order: string[] = [];
    const gate = deferred();
    const first = b.execute(() => gate.promise);
    const queued = b.execute(() => {
      order.push('queued');
    });
    gate.resolve('done');
    await first;
    // The slot is already promised to the queued call: the newcomer must not take it.
    const late = track(
      b.execute(() => {
        order.push('late');
      }),
    );
    expect(b.stats).toMatchObject({ running: 1 });
    await queued;
    await flush();
    expect(order).toEqual(['queued', 'late']);
    expect(late.settled).toBe(1);
    expect(late.error).toBeUndefined();
  });

  it('removes a queued call whose signal aborts at once, rejecting with the reason, and the next moves up', async () => {
    const b = bulkhead({ limit: 1, queue: 3 });
    const gate = deferred();
    const first = b.execute(() => gate.promise);
    const controller = new AbortController();
    const abortedFn = vi.fn();
    const aborted = track(b.execute(abortedFn, { signal: controller.signal }));
    const third = b.execute(() => 'third');
    expect(b.stats.queued).toBe(2);
    const reason = new Error('caller gave up');
    controller.abort(reason);
    // Left the queue synchronously, not when the slot frees.
    expect(b.stats.queued).toBe(1);
    await flush();
    expect(aborted.error).toBe(reason);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    gate.resolve('first');
    await expect(third).resolves.toBe('third');
    await first;
    expect(abortedFn).not.toHaveBeenCalled();
    expect(b.stats).toMatchObject({ running: 0, queued: 0 });
  });

  it('removes the abort listener of a queued call once it is admitted', async () => {
    const b = bulkhead({ limit: 1, queue: 1 });
    const gate = deferred();
    const first = b.execute(() => gate.promise);
    const controller = new AbortController();
    const second = b.execute(() => 'second', { signal: controller.signal });
    gate.resolve('first');
    await expect(second).resolves.toBe('second');
    await first;
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('rejects a queued call whose scope aborts (a timeout outside) with that scope’s reason', async () => {
    const clock = new VirtualClock();
    const b = bulkhead({ limit: 1, queue: 1 });
    const p = pipeline(timeout({ ms: 100, clock }), b);
    const gate = deferred();
    const first = b.execute(() => gate.promise);
    const fn = vi.fn();
    const queued = track(p.execute(fn));
    expect(b.stats.queued).toBe(1);
    await clock.advance(100);
    expect(queued.error).toBeInstanceOf(TimeoutError);
    expect(b.stats.queued).toBe(0);
    expect(fn).not.toHaveBeenCalled();
    gate.resolve('x');
    await first;
    expect(b.stats.running).toBe(0);
  });

  it('leaves no waiter behind when a timeout around a retry aborts the queued attempt', async () => {
    const clock = new VirtualClock();
    const b = bulkhead({ limit: 1, queue: 5 });
    const gate = deferred();
    const first = b.execute(() => gate.promise);
    const p = pipeline(timeout({ ms: 10, clock }), retry({ maxAttempts: 3, backoff: 20, clock }), b);
    const outcome = track(p.execute(() => 'never'));
    await clock.advance(10);
    expect(outcome.error).toBeInstanceOf(TimeoutError);
    expect(b.stats.queued).toBe(0);
    gate.resolve('x');
    await first;
  });

  it('does not queue a call whose context has already aborted', async () => {
    const b = bulkhead({ limit: 1, queue: 5 });
    const gate = deferred();
    const first = b.execute(() => gate.promise);
    const scope = new ExecutionContext(undefined, undefined, 0).fork();
    const reason = new Error('already aborted');
    scope.abort(reason);
    await expect(b._enter(scope) as Promise<unknown>).rejects.toBe(reason);
    expect(b.stats.queued).toBe(0);
    gate.resolve('x');
    await first;
  });

  describe('queueTimeout', () => {
    it('rejects a call that waited queueTimeout ms with BulkheadFullError', async () => {
      const clock = new VirtualClock();
      const b = bulkhead({ limit: 1, queue: 2, queueTimeout: 500, clock });
      const rejects: unknown[] = [];
      b.on('reject', (e) => rejects.push(e));
      const gate = deferred();
      const first = b.execute(() => gate.promise);
      const fn = vi.fn();
      const queued = track(b.execute(fn));
      await clock.advance(499);
      expect(queued.settled).toBe(0);
      await clock.advance(1);
      expect(queued.error).toBeInstanceOf(BulkheadFullError);
      expect((queued.error as Error).message).toMatch(/queue timeout: no slot within 500 ms/);
      expect(rejects).toEqual([{ reason: 'queueTimeout', running: 1, queued: 0 }]);
      expect(b.stats.queued).toBe(0);
      expect(clock.pending).toBe(0);
      gate.resolve('x');
      await first;
      expect(fn).not.toHaveBeenCalled();
    });

    it('measures each wait from when that call joined the queue', async () => {
      const clock = new VirtualClock();
      const b = bulkhead({ limit: 1, queue: 3, queueTimeout: 100, clock });
      const gate = deferred();
      const first = b.execute(() => gate.promise);
      const a = track(b.execute(() => 'a'));
      await clock.advance(40);
      const c = track(b.execute(() => 'c'));
      await clock.advance(60);
      expect(a.error).toBeInstanceOf(BulkheadFullError);
      expect(c.settled).toBe(0);
      await clock.advance(39);
      expect(c.settled).toBe(0);
      await clock.advance(1);
      expect(c.error).toBeInstanceOf(BulkheadFullError);
      gate.resolve('x');
      await first;
    });

    it('holds a timer only while calls wait, and clears it when they are admitted', async () => {
      const clock = new VirtualClock();
      const b = bulkhead({ limit: 1, queue: 3, queueTimeout: 1000, clock });
      const gate = deferred();
      const first = b.execute(() => gate.promise);
      expect(clock.pending).toBe(0);
      const second = b.execute(() => 'second');
      const third = b.execute(() => 'third');
      expect(clock.pending).toBe(1);
      gate.resolve('first');
      await first;
      await expect(second).resolves.toBe('second');
      await expect(third).resolves.toBe('third');
      expect(clock.pending).toBe(0);
    });

    it('keeps the timer for the rest of the queue when the head is admitted', async () => {
      const clock = new VirtualClock();
      const b = bulkhead({ limit: 1, queue: 3, queueTimeout: 100, clock });
      const gate = deferred();
      const first = b.execute(() => gate.promise);
      const gate2 = deferred();
      const second = b.execute(() => gate2.promise);
      await clock.advance(50);
      const third = track(b.execute(() => 'third'));
      gate.resolve('first');
      await first;
      // The second call runs now; the third still waits and times out 100 ms after it queued.
      await clock.advance(99);
      expect(third.settled).toBe(0);
      await clock.advance(1);
      expect(third.error).toBeInstanceOf(BulkheadFullError);
      gate2.resolve('second');
      await second;
      expect(clock.pending).toBe(0);
    });

    it('clears the timer when the last waiter aborts', async () => {
      const clock = new VirtualClock();
      const b = bulkhead({ limit: 1, queue: 3, queueTimeout: 100, clock });
      const gate = deferred();
      const first = b.execute(() => gate.promise);
      const controller = new AbortController();
      const queued = track(b.execute(() => 'x', { signal: controller.signal }));
      expect(clock.pending).toBe(1);
      controller.abort();
      expect(clock.pending).toBe(0);
      await flush();
      expect(queued.error).toBeInstanceOf(DOMException);
      gate.resolve('x');
      await first;
    });
  });

  describe('slot release', () => {
    it('frees a slot only when work behind an aggressive timeout has really settled', async () => {
      const clock = new VirtualClock();
      const b = bulkhead({ limit: 1, queue: 1 });
      const p = pipeline(b, timeout({ ms: 100, strategy: 'aggressive', clock }));
      const work = deferred();
      const outcome = track(p.execute(() => work.promise));
      await clock.advance(100);
      expect(outcome.error).toBeInstanceOf(TimeoutError);
      // The caller has its answer, but the work still runs: the slot stays taken.
      expect(b.stats.running).toBe(1);
      const next = vi.fn(() => 'next');
      const queued = track(p.execute(next));
      await flush();
      expect(next).not.toHaveBeenCalled();
      work.resolve('late');
      await flush();
      expect(next).toHaveBeenCalledTimes(1);
      expect(queued.value).toBe('next');
      expect(b.stats.running).toBe(0);
    });

    it('keeps the slot of a losing hedge attempt until its work settles', async () => {
      const clock = new VirtualClock();
      const b = bulkhead({ limit: 2 });
      const p = pipeline(b, hedge({ delay: 10, maxHedged: 1, clock }));
      const slow = deferred();
      let attempts = 0;
      const outcome = track(
        p.execute(() => {
          attempts += 1;
          // The first attempt ignores its signal; the hedge answers first.
          return attempts === 1 ? slow.promise : 'hedged';
        }),
      );
      await clock.advance(10);
      expect(outcome.value).toBe('hedged');
      expect(b.stats.running).toBe(1);
      slow.resolve('loser');
      await flush();
      expect(b.stats.running).toBe(0);
    });

    it('frees the slot after lingering work that fails, too', async () => {
      const clock = new VirtualClock();
      const b = bulkhead({ limit: 1 });
      const p = pipeline(b, timeout({ ms: 10, strategy: 'aggressive', clock }));
      const work = deferred();
      const outcome = track(p.execute(() => work.promise));
      await clock.advance(10);
      expect(outcome.error).toBeInstanceOf(TimeoutError);
      expect(b.stats.running).toBe(1);
      work.reject(new Error('late failure'));
      await flush();
      expect(b.stats.running).toBe(0);
    });

    it('lets a later retry attempt free its own slot without waiting for an earlier attempt’s lingering work', async () => {
      const clock = new VirtualClock();
      const b = bulkhead({ limit: 2 });
      const p = pipeline(
        retry({ maxAttempts: 2, backoff: 0, clock }),
        b,
        timeout({ ms: 10, strategy: 'aggressive', clock }),
      );
      const firstAttempt = deferred();
      let attempts = 0;
      const result = p.execute(() => {
        attempts += 1;
        return attempts === 1 ? firstAttempt.promise : 'second';
      });
      await clock.advance(10);
      await expect(result).resolves.toBe('second');
      // Only the first attempt's slot is still held, by its work that goes on.
      expect(b.stats.running).toBe(1);
      firstAttempt.resolve('late');
      await flush();
      expect(b.stats.running).toBe(0);
    });

    it('a queued later attempt waits for the slot an earlier attempt’s lingering work holds', async () => {
      const clock = new VirtualClock();
      const b = bulkhead({ limit: 1, queue: 1 });
      const p = pipeline(
        retry({ maxAttempts: 2, backoff: 0, clock }),
        b,
        timeout({ ms: 10, strategy: 'aggressive', clock }),
      );
      const firstAttempt = deferred();
      let attempts = 0;
      const result = track(
        p.execute(() => {
          attempts += 1;
          return attempts === 1 ? firstAttempt.promise : 'second';
        }),
      );
      await clock.advance(10);
      expect(attempts).toBe(1);
      expect(b.stats).toMatchObject({ running: 1, queued: 1 });
      firstAttempt.resolve('late');
      await flush();
      expect(result.value).toBe('second');
      expect(b.stats).toMatchObject({ running: 0, queued: 0 });
    });

    it('frees the slot when an inner policy rejects the call', async () => {
      const clock = new VirtualClock();
      const b = bulkhead({ limit: 1 });
      const p = pipeline(b, rateLimit({ type: 'slidingWindow', limit: 1, window: 1000, clock }));
      await p.execute(() => 'ok');
      await expect(p.execute(() => 'no')).rejects.toBeInstanceOf(RateLimitedError);
      expect(b.stats.running).toBe(0);
    });

    it('frees the slot when the work throws synchronously', async () => {
      const b = bulkhead({ limit: 1 });
      await expect(
        b.execute(() => {
          throw new Error('sync');
        }),
      ).rejects.toThrow('sync');
      expect(b.stats.running).toBe(0);
    });
  });

  describe('events', () => {
    it('emits success and failure for calls it ran', async () => {
      const b = bulkhead({ limit: 2 });
      const successes: unknown[] = [];
      const failures: unknown[] = [];
      b.on('success', (e) => successes.push(e));
      b.on('failure', (e) => failures.push(e));
      await b.execute(() => 42);
      const boom = new Error('boom');
      await b.execute(() => Promise.reject(boom)).catch(() => {});
      expect(successes).toEqual([{ value: 42 }]);
      expect(failures).toEqual([{ error: boom }]);
    });

    it('emits reject (full) and queued, and its own rejections are not failures', async () => {
      const b = bulkhead({ limit: 1, queue: 1 });
      const events: [string, unknown][] = [];
      b.onAny((name, data) => events.push([name, data]));
      const gate = deferred();
      const first = b.execute(() => gate.promise);
      const second = b.execute(() => 'second');
      await b.execute(() => 'third').catch(() => {});
      expect(events).toEqual([
        ['queued', { queued: 1 }],
        ['reject', { reason: 'full', running: 1, queued: 1 }],
      ]);
      gate.resolve('first');
      await Promise.all([first, second]);
      expect(events.map(([name]) => name)).toEqual(['queued', 'reject', 'success', 'success']);
    });

    it('builds no event when nobody listens', async () => {
      const b = bulkhead({ limit: 1 });
      const emit = vi.spyOn(b as unknown as { emit: () => void }, 'emit');
      await b.execute(() => 1);
      expect(emit).not.toHaveBeenCalled();
    });
  });

  describe('stats and health', () => {
    it('reports live load', async () => {
      const b = bulkhead({ limit: 1, queue: 2 });
      const gate = deferred();
      const first = b.execute(() => gate.promise);
      const second = b.execute(() => 'second');
      expect(b.stats).toEqual({ running: 1, queued: 1, limit: 1, queue: 2 });
      gate.resolve('x');
      await Promise.all([first, second]);
      expect(b.stats).toEqual({ running: 0, queued: 0, limit: 1, queue: 2 });
    });

    it('is ok with a free slot, degraded when saturated, and counts rejections', async () => {
      const b = bulkhead({ limit: 1, name: 'db' });
      expect(b._health()).toEqual({
        kind: 'bulkhead',
        name: 'db',
        status: 'ok',
        running: 0,
        queued: 0,
        limit: 1,
        queue: 0,
        rejected: 0,
      });
      const gate = deferred();
      const first = b.execute(() => gate.promise);
      await b.execute(() => 'x').catch(() => {});
      expect(b._health()).toMatchObject({ status: 'degraded', running: 1, rejected: 1 });
      gate.resolve('x');
      await first;
      expect(b._health().status).toBe('ok');
    });

    it('reports an unbounded queue as null, since JSON has no Infinity', () => {
      const b = bulkhead({ limit: 1, queue: Number.POSITIVE_INFINITY });
      expect(b._health().queue).toBeNull();
    });
  });
});
