/**
 * One test per point of DESIGN.md "Semantics where the peers go wrong" that
 * applies to the core, retry, timeout, fallback and pipeline, named after it.
 */
import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Emitter } from '../../src/core/events.js';
import {
  BulkheadFullError,
  CircuitOpenError,
  fallback,
  type Policy,
  pipeline,
  RateLimitedError,
  retry,
  setListenerErrorHandler,
  systemClock,
  TimeoutError,
  timeout,
} from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';
import { honours } from '../helpers/work.js';

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

function settled<T>(p: Promise<T>): { outcome?: { value: T } | { error: unknown } } {
  const box: { outcome?: { value: T } | { error: unknown } } = {};
  p.then(
    (value) => (box.outcome = { value }),
    (error: unknown) => (box.outcome = { error }),
  );
  return box;
}

describe('Semantics where the peers go wrong', () => {
  it('maxAttempts counts every attempt, the first included', async () => {
    const clock = new VirtualClock();
    for (const maxAttempts of [1, 2, 5]) {
      let calls = 0;
      const box = settled(
        retry({ maxAttempts, backoff: 1, clock }).execute(() => {
          calls++;
          throw new Error('x');
        }),
      );
      await clock.runAll();
      expect(box.outcome).toHaveProperty('error');
      expect(calls).toBe(maxAttempts);
    }
  });

  it('maxAttempts defaults to 3', async () => {
    const clock = new VirtualClock();
    let calls = 0;
    const box = settled(
      retry({ clock }).execute(() => {
        calls++;
        throw new Error('x');
      }),
    );
    await clock.runAll();
    expect(box.outcome).toHaveProperty('error');
    expect(calls).toBe(3);
  });

  it('ctx.attempt is 1-based', async () => {
    const clock = new VirtualClock();
    const seen: number[] = [];
    const outside: number[] = [];
    const box = settled(
      pipeline(retry({ maxAttempts: 3, backoff: 1, clock }), timeout({ ms: 1_000, clock })).execute((ctx) => {
        seen.push(ctx.attempt);
        throw new Error('x');
      }),
    );
    await clock.runAll();
    expect(box.outcome).toHaveProperty('error');
    expect(seen).toEqual([1, 2, 3]);
    await timeout(100).execute((ctx) => outside.push(ctx.attempt));
    expect(outside).toEqual([1]);
  });

  it('no policy defaults to unbounded retries', async () => {
    const clock = new VirtualClock();
    let calls = 0;
    const p = pipeline(fallback({ value: 'gave up' }), retry({ clock }), timeout({ ms: 10, clock }));
    const box = settled(
      p.execute(() => {
        calls++;
        throw new Error('always');
      }),
    );
    await clock.runAll(1_000);
    expect(box.outcome).toEqual({ value: 'gave up' });
    expect(calls).toBe(3);
  });

  it("an abort of the caller's signal rejects at once with the signal's reason", async () => {
    const clock = new VirtualClock();
    const caller = new AbortController();
    const reason = new Error('caller gave up');
    // Work that ignores its signal: the caller still gets its answer at once.
    const box = settled(
      pipeline(retry({ clock }), timeout({ ms: 60_000, clock })).execute(() => new Promise(() => {}), {
        signal: caller.signal,
      }),
    );
    caller.abort(reason);
    await Promise.resolve();
    await Promise.resolve();
    expect(box.outcome).toEqual({ error: reason });
  });

  it("an abort of the caller's signal in the middle of a backoff wait rejects at once, and no further attempt starts", async () => {
    const clock = new VirtualClock();
    const caller = new AbortController();
    const reason = new DOMException('stop', 'AbortError');
    let calls = 0;
    const policy = retry({ maxAttempts: 5, backoff: 10_000, clock });
    const box = settled(
      policy.execute(
        () => {
          calls++;
          throw new Error('x');
        },
        { signal: caller.signal },
      ),
    );
    await clock.advance(5_000);
    expect(calls).toBe(1);
    expect(clock.pending).toBe(1);
    caller.abort(reason);
    await clock.settle();
    expect(box.outcome).toEqual({ error: reason });
    // The backoff timer is cleared, not waited out.
    expect(clock.pending).toBe(0);
    await clock.advance(60_000);
    expect(calls).toBe(1);
  });

  it("an abort of the caller's signal during an attempt starts no further attempt", async () => {
    const clock = new VirtualClock();
    const caller = new AbortController();
    let calls = 0;
    const box = settled(
      retry({ maxAttempts: 5, backoff: 0, clock }).execute(
        (ctx) => {
          calls++;
          return honours(ctx);
        },
        { signal: caller.signal },
      ),
    );
    caller.abort('stop');
    await clock.runAll();
    expect(box.outcome).toEqual({ error: 'stop' });
    expect(calls).toBe(1);
  });

  it('a timeout fires TimeoutError only when its own deadline passed', async () => {
    const clock = new VirtualClock();
    const policy = timeout({ ms: 100, clock });
    const fired = vi.fn();
    policy.on('timeout', fired);
    const error = new Error('its own failure');
    const box = settled(
      policy.execute(async () => {
        await new Promise<void>((r) => clock.setTimeout(r, 99));
        throw error;
      }),
    );
    await clock.advance(99);
    expect(box.outcome).toEqual({ error });
    await clock.advance(1_000);
    expect(fired).not.toHaveBeenCalled();
  });

  it("a caller's abort is reported as the caller's abort, never as a timeout", async () => {
    for (const strategy of ['cooperative', 'aggressive'] as const) {
      const clock = new VirtualClock();
      const policy = timeout({ ms: 100, strategy, clock });
      const fired = vi.fn();
      policy.on('timeout', fired);
      const caller = new AbortController();
      let signal: AbortSignal | undefined;
      const box = settled(
        policy.execute(
          (ctx) => {
            signal = ctx.signal;
            return new Promise(() => {}); // ignores its signal
          },
          { signal: caller.signal },
        ),
      );
      await clock.advance(50);
      caller.abort('caller left');
      await clock.settle();
      expect(box.outcome).toEqual({ error: 'caller left' });
      expect(signal!.reason).toBe('caller left');
      // The deadline passes later: still no timeout.
      await clock.advance(100);
      expect(fired).not.toHaveBeenCalled();
      expect(signal!.reason).not.toBeInstanceOf(TimeoutError);
    }
  });

  it('a timeout aborts only its own call’s signal, never other calls in flight', async () => {
    const clock = new VirtualClock();
    const policy = timeout({ ms: 100, clock });
    const signals: AbortSignal[] = [];
    const slow = settled(
      policy.execute((ctx) => {
        signals.push(ctx.signal);
        return honours(ctx);
      }),
    );
    await clock.advance(50);
    let finishOthers!: () => void;
    const gate = new Promise<void>((r) => (finishOthers = r));
    const others = [1, 2, 3].map((i) =>
      settled(
        policy.execute(async (ctx) => {
          signals.push(ctx.signal);
          await gate;
          return i;
        }),
      ),
    );
    await clock.advance(50);
    expect((slow.outcome as { error: unknown }).error).toBeInstanceOf(TimeoutError);
    expect(signals.map((s) => s.aborted)).toEqual([true, false, false, false]);
    finishOthers();
    await clock.settle();
    expect(others.map((o) => o.outcome)).toEqual([{ value: 1 }, { value: 2 }, { value: 3 }]);
  });

  it('abort listeners are removed when a call settles', async () => {
    const clock = new VirtualClock();
    const caller = new AbortController();
    const p = pipeline(
      fallback({ value: 'fb' }),
      retry({ maxAttempts: 2, backoff: 5, clock }),
      timeout({ ms: 10, clock }),
    );
    // Success, failure then fallback, timeouts: after each, nothing is left on the caller's signal.
    await p.execute((ctx) => ctx.signal.aborted, { signal: caller.signal });
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
    const failing = settled(
      p.execute(
        (ctx) => {
          void ctx.signal;
          throw new Error('x');
        },
        { signal: caller.signal },
      ),
    );
    await clock.runAll();
    expect(failing.outcome).toEqual({ value: 'fb' });
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
    const timingOut = settled(p.execute(honours, { signal: caller.signal }));
    await clock.runAll();
    expect(timingOut.outcome).toEqual({ value: 'fb' });
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
  });

  it('by default retry retries every error except the caller’s abort and errors that say retrying now is pointless (CircuitOpenError, BulkheadFullError)', async () => {
    const clock = new VirtualClock();
    for (const error of [new CircuitOpenError('open', 1_000), new BulkheadFullError()]) {
      let calls = 0;
      await expect(
        retry({ clock }).execute(() => {
          calls++;
          throw error;
        }),
      ).rejects.toBe(error);
      expect(calls).toBe(1);
    }
    for (const error of [
      new Error('x'),
      new TypeError('fetch failed'),
      new TimeoutError(10),
      'not even an Error',
    ]) {
      let calls = 0;
      const box = settled(
        retry({ backoff: 0, clock }).execute(() => {
          calls++;
          throw error;
        }),
      );
      await clock.runAll();
      expect(box.outcome).toEqual({ error });
      expect(calls).toBe(3);
    }
  });

  it('retry does not retry the caller’s abort, even when retryOn says yes', async () => {
    const clock = new VirtualClock();
    const caller = new AbortController();
    const retryOn = vi.fn(() => true);
    let calls = 0;
    const policy = retry({ backoff: 0, retryOn, clock });
    const retries = vi.fn();
    policy.on('retry', retries);
    const box = settled(
      policy.execute(
        (ctx) => {
          calls++;
          return honours(ctx);
        },
        { signal: caller.signal },
      ),
    );
    caller.abort('mine');
    await clock.runAll();
    expect(box.outcome).toEqual({ error: 'mine' });
    expect(calls).toBe(1);
    // Not even scheduled: no retry event, and retryOn is not asked.
    expect(retries).not.toHaveBeenCalled();
    expect(retryOn).not.toHaveBeenCalled();
  });

  it('an error or result with retryAfter makes the next delay at least that', async () => {
    const clock = new VirtualClock();
    const at: number[] = [];
    const policy = retry({
      maxAttempts: 3,
      backoff: 10,
      retryOnResult: (r) => (r as { status: number }).status === 503,
      clock,
    });
    const box = settled(
      policy.execute(() => {
        at.push(clock.now());
        if (at.length === 1) throw new RateLimitedError(2_000);
        if (at.length === 2) return { status: 503, retryAfter: 700 };
        return { status: 200 };
      }),
    );
    await clock.runAll();
    expect(box.outcome).toEqual({ value: { status: 200 } });
    expect(at).toEqual([0, 2_000, 2_700]);
  });

  it('retryAfter is in milliseconds, on errors and results alike', async () => {
    const clock = new VirtualClock();
    const delays: number[] = [];
    const policy = retry({ maxAttempts: 3, backoff: 0, retryOnResult: (r) => r !== 'ok', clock });
    policy.on('retry', (e) => delays.push(e.delay));
    let n = 0;
    const box = settled(
      policy.execute(() => {
        n++;
        if (n === 1) throw Object.assign(new Error('429'), { retryAfter: 1_500 });
        if (n === 2) return { retryAfter: 250 };
        return 'ok';
      }),
    );
    await clock.runAll();
    expect(box.outcome).toEqual({ value: 'ok' });
    expect(delays).toEqual([1_500, 250]);
  });

  it('time is read through a clock; the default reads Date.now, setTimeout and clearTimeout at call time, so fake timers work', async () => {
    vi.useFakeTimers({ now: 42 });
    expect(systemClock.now()).toBe(42);
    const at: number[] = [];
    const box = settled(
      pipeline(retry({ maxAttempts: 2, backoff: 1_000 }), timeout(500)).execute((ctx) => {
        at.push(Date.now());
        return honours(ctx);
      }),
    );
    await vi.advanceTimersByTimeAsync(2_000);
    expect(at).toEqual([42, 1_542]);
    expect((box.outcome as { error: unknown }).error).toBeInstanceOf(TimeoutError);
  });

  it('event objects are built only when someone listens', async () => {
    const emit = vi.spyOn(Emitter.prototype as unknown as { emit: () => void }, 'emit');
    const clock = new VirtualClock();
    const r = retry({ maxAttempts: 2, backoff: 1, clock });
    const t = timeout({ ms: 5, clock });
    const fb = fallback({ value: 'fb', lastKnownGood: { ttl: 60_000 }, clock });
    const p = pipeline(fb, r, t);
    const quiet = settled(p.execute(honours));
    await clock.runAll();
    expect(quiet.outcome).toEqual({ value: 'fb' });
    await p.execute(() => 'ok');
    expect(emit).not.toHaveBeenCalled();

    // One listener on one event: only that event is built.
    const timeouts = vi.fn();
    t.on('timeout', timeouts);
    const loud = settled(p.execute(honours));
    await clock.runAll();
    expect(loud.outcome).toEqual({ value: 'ok' }); // last known good now
    expect(timeouts).toHaveBeenCalledTimes(2);
    expect(emit.mock.calls.map((c) => (c as unknown[])[0])).toEqual(['timeout', 'timeout']);
  });

  it('a listener that throws never breaks a call', async () => {
    const reported: unknown[] = [];
    const previous = setListenerErrorHandler((e) => reported.push(e));
    try {
      const p = pipeline(fallback({ value: 'fb' }), retry({ maxAttempts: 1 }));
      p.onEvent(() => {
        throw new Error('bad listener');
      });
      p.on('success', () => {
        throw new Error('bad listener');
      });
      await expect(p.execute(() => 'ok')).resolves.toBe('ok');
      await expect(p.execute(() => Promise.reject(new Error('x')))).resolves.toBe('fb');
      expect(reported.length).toBeGreaterThanOrEqual(3);
    } finally {
      setListenerErrorHandler(previous);
    }
  });

  it('every policy has wrap(fn) and emits success and failure', async () => {
    const policies: Policy[] = [
      retry({ maxAttempts: 1 }),
      timeout(1_000),
      fallback({ value: 1, fallbackOn: () => false }),
      pipeline(),
    ];
    for (const policy of policies) {
      const seen: string[] = [];
      policy.on('success', () => seen.push('success'));
      policy.on('failure', () => seen.push('failure'));
      const wrapped = policy.wrap((x: number) => {
        if (x < 0) throw new Error('negative');
        return x * 2;
      });
      await expect(wrapped(2)).resolves.toBe(4);
      await expect(wrapped(-1)).rejects.toThrow('negative');
      expect(seen).toEqual(['success', 'failure']);
    }
  });

  it('invalid options throw at construction, naming the option and the value', () => {
    expect(() => retry({ maxAttempts: -2 })).toThrow(
      new RangeError('retry: maxAttempts must be an integer ≥ 1, got -2'),
    );
    expect(() => timeout({ ms: -1 })).toThrow(new RangeError('timeout: ms must be a number > 0, got -1'));
    expect(() => fallback({ lastKnownGood: { ttl: -1 } })).toThrow(
      new RangeError('fallback: lastKnownGood.ttl must be a number > 0, got -1'),
    );
  });
});
