import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  BulkheadFullError,
  backoff,
  CircuitOpenError,
  pipeline,
  RateLimitedError,
  type RetryEvents,
  RetryPolicy,
  retry,
  ThrottledError,
  timeout,
} from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';

afterEach(() => {
  vi.restoreAllMocks();
});

/** Records every retry/giveUp/success/failure event of a policy as plain data. */
function record(policy: RetryPolicy): unknown[] {
  const events: unknown[] = [];
  for (const name of ['retry', 'giveUp', 'success', 'failure'] as const) {
    policy.on(name, (e: RetryEvents[typeof name]) => events.push([name, e]));
  }
  return events;
}

/** Runs a call to completion on a virtual clock; resolves with its outcome without throwing. */
async function run<T>(
  clock: VirtualClock,
  call: Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  const outcome = call.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  await clock.runAll();
  return outcome;
}

/** A function failing with `errors` in turn, then returning `value`. */
function flaky<T>(errors: unknown[], value: T) {
  const fn = vi.fn(() => {
    const error = errors[fn.mock.calls.length - 1];
    if (error !== undefined) throw error;
    return value;
  });
  return fn;
}

describe('retry', () => {
  it('defaults: 3 attempts, exponential backoff from 100 ms with full jitter', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const clock = new VirtualClock();
    const policy = retry({ clock });
    expect(policy).toBeInstanceOf(RetryPolicy);
    expect(policy.maxAttempts).toBe(3);
    expect(policy.kind).toBe('retry');
    const delays: number[] = [];
    policy.on('retry', (e) => delays.push(e.delay));
    const fn = flaky([new Error('a'), new Error('b'), new Error('c')], 'never');
    const outcome = await run(clock, policy.execute(fn));
    expect(outcome).toEqual({ ok: false, error: new Error('c') });
    expect(fn).toHaveBeenCalledTimes(3);
    expect(delays).toEqual([50, 100]);
  });

  it('returns the first success and stops', async () => {
    const clock = new VirtualClock();
    const fn = flaky([new Error('a')], 'ok');
    expect(await run(clock, retry({ maxAttempts: 5, backoff: 10, clock }).execute(fn))).toEqual({
      ok: true,
      value: 'ok',
    });
    expect(fn).toHaveBeenCalledTimes(2);
  });

  it('when exhausted it rethrows the last error itself', async () => {
    const clock = new VirtualClock();
    const last = new Error('third');
    const outcome = await run(
      clock,
      retry({ maxAttempts: 3, backoff: 1, clock }).execute(
        flaky([new Error('first'), new Error('second'), last], 0),
      ),
    );
    expect(outcome).toEqual({ ok: false, error: last });
    expect((outcome as { error: unknown }).error).toBe(last);
  });

  it('maxAttempts: 1 makes a single attempt', async () => {
    const fn = flaky([new Error('a')], 'ok');
    await expect(retry({ maxAttempts: 1 }).execute(fn)).rejects.toThrow('a');
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('waits the backoff between attempts, on the policy’s clock', async () => {
    const clock = new VirtualClock();
    const at: number[] = [];
    const call = retry({
      maxAttempts: 4,
      backoff: backoff.linear({ initial: 100, step: 100 }),
      clock,
    }).execute(() => {
      at.push(clock.now());
      throw new Error('x');
    });
    await run(clock, call);
    expect(at).toEqual([0, 100, 300, 600]);
  });

  it('backoff: a number means a constant delay', async () => {
    const clock = new VirtualClock();
    const at: number[] = [];
    await run(
      clock,
      retry({ maxAttempts: 3, backoff: 250, clock }).execute(() => {
        at.push(clock.now());
        throw new Error('x');
      }),
    );
    expect(at).toEqual([0, 250, 500]);
  });

  it('passes the previous delay to the backoff, as decorrelated jitter needs', async () => {
    const clock = new VirtualClock();
    const seen: [number, number][] = [];
    const custom = {
      delay: (n: number, previous: number) => {
        seen.push([n, previous]);
        return n * 10;
      },
    };
    // Four failures: the backoff is asked only before the three retries, not after the last attempt.
    await run(clock, retry({ maxAttempts: 4, backoff: custom, clock }).execute(flaky([1, 2, 3, 4], 0)));
    expect(seen).toEqual([
      [1, 0],
      [2, 10],
      [3, 20],
    ]);
  });

  it('treats a NaN, negative or infinite backoff delay as 0', async () => {
    const clock = new VirtualClock();
    for (const bad of [Number.NaN, -5, Number.POSITIVE_INFINITY]) {
      const policy = retry({ maxAttempts: 2, backoff: { delay: () => bad }, clock });
      const delays: number[] = [];
      policy.on('retry', (e) => delays.push(e.delay));
      expect(await run(clock, policy.execute(flaky([new Error('x')], 'ok')))).toEqual({
        ok: true,
        value: 'ok',
      });
      expect(delays).toEqual([0]);
    }
  });

  describe('retryOn', () => {
    it('is asked with the error and the 1-based attempt number; false stops at once', async () => {
      const clock = new VirtualClock();
      const asked: [string, number][] = [];
      const policy = retry({
        maxAttempts: 5,
        backoff: 1,
        clock,
        retryOn: (error, attempt) => {
          asked.push([(error as Error).message, attempt]);
          return (error as Error).message !== 'fatal';
        },
      });
      const events = record(policy);
      const fn = flaky([new Error('transient'), new Error('fatal')], 'never');
      const outcome = await run(clock, policy.execute(fn));
      expect(outcome).toEqual({ ok: false, error: new Error('fatal') });
      expect(asked).toEqual([
        ['transient', 1],
        ['fatal', 2],
      ]);
      expect(fn).toHaveBeenCalledTimes(2);
      // Not retryable: no giveUp, just the failure.
      expect(events.map((e) => (e as [string])[0])).toEqual(['retry', 'failure']);
    });

    it('only a literal true retries', async () => {
      const fn = flaky([new Error('x')], 'ok');
      await expect(retry({ retryOn: () => 1 as never, backoff: 0 }).execute(fn)).rejects.toThrow('x');
      expect(fn).toHaveBeenCalledTimes(1);
    });

    it('can retry errors bulwark marks as pointless, if the user insists', async () => {
      const clock = new VirtualClock();
      const fn = flaky([new BulkheadFullError()], 'ok');
      const outcome = await run(clock, retry({ retryOn: () => true, backoff: 1, clock }).execute(fn));
      expect(outcome).toEqual({ ok: true, value: 'ok' });
    });
  });

  describe('default classification', () => {
    it.each([
      ['CircuitOpenError', new CircuitOpenError('open', 5_000)],
      ['BulkheadFullError', new BulkheadFullError()],
      ['ThrottledError', new ThrottledError()],
    ])('does not retry %s', async (_name, error) => {
      const fn = flaky([error], 'ok');
      await expect(retry({ backoff: 0 }).execute(fn)).rejects.toBe(error);
      expect(fn).toHaveBeenCalledTimes(1);
    });

    it.each([
      ['an Error', new Error('x')],
      ['a fetch TypeError', new TypeError('fetch failed')],
      ['a string', 'boom'],
      ['a RateLimitedError', new RateLimitedError(0)],
    ])('retries %s', async (_name, error) => {
      const clock = new VirtualClock();
      const fn = flaky([error], 'ok');
      expect(await run(clock, retry({ backoff: 0, clock }).execute(fn))).toEqual({ ok: true, value: 'ok' });
      expect(fn).toHaveBeenCalledTimes(2);
    });
  });

  describe('retryOnResult', () => {
    it('retries a result the predicate rejects and returns the first accepted one', async () => {
      const clock = new VirtualClock();
      const asked: [number, number][] = [];
      let n = 0;
      const policy = retry({
        maxAttempts: 5,
        backoff: 5,
        clock,
        retryOnResult: (result, attempt) => {
          asked.push([result as number, attempt]);
          return (result as number) < 3;
        },
      });
      const events = record(policy);
      expect(
        await run(
          clock,
          policy.execute(() => ++n),
        ),
      ).toEqual({ ok: true, value: 3 });
      expect(asked).toEqual([
        [1, 1],
        [2, 2],
        [3, 3],
      ]);
      expect(events).toEqual([
        ['retry', { attempt: 1, delay: 5, result: 1 }],
        ['retry', { attempt: 2, delay: 5, result: 2 }],
        ['success', { value: 3 }],
      ]);
    });

    it('when exhausted it returns the last result, not an error', async () => {
      const clock = new VirtualClock();
      let n = 0;
      const policy = retry({ maxAttempts: 3, backoff: 1, clock, retryOnResult: () => true });
      const events = record(policy);
      expect(
        await run(
          clock,
          policy.execute(() => ({ status: 503, n: ++n })),
        ),
      ).toEqual({
        ok: true,
        value: { status: 503, n: 3 },
      });
      expect(events.slice(-2)).toEqual([
        ['giveUp', { attempts: 3, reason: 'maxAttempts', result: { status: 503, n: 3 } }],
        ['success', { value: { status: 503, n: 3 } }],
      ]);
    });

    it('a failure after a retried result is handled like any failure', async () => {
      const clock = new VirtualClock();
      let n = 0;
      const policy = retry({ maxAttempts: 3, backoff: 1, clock, retryOnResult: (r) => r === 'bad' });
      const outcome = await run(
        clock,
        policy.execute(() => {
          n++;
          if (n === 1) return 'bad';
          if (n === 2) throw new Error('then failed');
          return 'good';
        }),
      );
      expect(outcome).toEqual({ ok: true, value: 'good' });
    });
  });

  describe('retryAfter and delay', () => {
    it('an error’s retryAfter makes the next delay at least that; a shorter one leaves the backoff', async () => {
      const clock = new VirtualClock();
      const policy = retry({ maxAttempts: 3, backoff: 100, clock });
      const delays: number[] = [];
      policy.on('retry', (e) => delays.push(e.delay));
      const fn = flaky([new RateLimitedError(2_000), new RateLimitedError(10)], 'ok');
      expect(await run(clock, policy.execute(fn))).toEqual({ ok: true, value: 'ok' });
      expect(delays).toEqual([2_000, 100]);
      expect(clock.now()).toBe(2_100);
    });

    it('a result’s retryAfter counts too', async () => {
      const clock = new VirtualClock();
      const policy = retry({
        maxAttempts: 2,
        backoff: 0,
        clock,
        retryOnResult: (r) => (r as { status: number }).status === 429,
      });
      let n = 0;
      const call = policy.execute(() => (++n === 1 ? { status: 429, retryAfter: 1_500 } : { status: 200 }));
      await clock.advance(1_499);
      expect(n).toBe(1);
      await clock.advance(1);
      expect(n).toBe(2);
      await expect(call).resolves.toEqual({ status: 200 });
    });

    it('delay reads the wait from the outcome instead of retryAfter', async () => {
      const clock = new VirtualClock();
      const seen: unknown[] = [];
      const policy = retry({
        maxAttempts: 4,
        backoff: 10,
        clock,
        retryOnResult: (r) => r === 'later',
        delay: (outcome, attempt) => {
          seen.push([outcome, attempt]);
          if (attempt === 1) return 500;
          if (attempt === 2) return undefined;
          return Number.NaN;
        },
      });
      const delays: number[] = [];
      policy.on('retry', (e) => delays.push(e.delay));
      const err = Object.assign(new Error('x'), { retryAfter: 99_999 });
      let n = 0;
      const call = policy.execute(() => {
        n++;
        if (n === 1) throw err;
        if (n < 4) return 'later';
        return 'done';
      });
      expect(await run(clock, call)).toEqual({ ok: true, value: 'done' });
      // The error's own retryAfter is ignored once `delay` is given.
      expect(delays).toEqual([500, 10, 10]);
      expect(seen).toEqual([
        [{ error: err }, 1],
        [{ result: 'later' }, 2],
        [{ result: 'later' }, 3],
      ]);
    });

    it('a retryAfter above maxRetryAfter gives up at once with the error', async () => {
      const clock = new VirtualClock();
      const policy = retry({ maxAttempts: 5, backoff: 0, maxRetryAfter: 1_000, clock });
      const events = record(policy);
      const error = new RateLimitedError(5_000);
      const fn = flaky([error], 'ok');
      expect(await run(clock, policy.execute(fn))).toEqual({ ok: false, error });
      expect(fn).toHaveBeenCalledTimes(1);
      expect(clock.now()).toBe(0);
      expect(events[0]).toEqual(['giveUp', { attempts: 1, reason: 'retryAfter', error }]);
    });

    it('maxRetryAfter defaults to 60 s', async () => {
      const clock = new VirtualClock();
      const ok = flaky([new RateLimitedError(60_000)], 'ok');
      expect(await run(clock, retry({ backoff: 0, clock }).execute(ok))).toEqual({ ok: true, value: 'ok' });
      const tooLong = flaky([new RateLimitedError(60_001)], 'ok');
      expect(await run(clock, retry({ backoff: 0, clock }).execute(tooLong))).toMatchObject({ ok: false });
      expect(tooLong).toHaveBeenCalledTimes(1);
    });

    it('maxRetryAfter caps only server-requested delays, never the backoff the user chose', async () => {
      const clock = new VirtualClock();
      const policy = retry({ maxAttempts: 2, backoff: 90_000, maxRetryAfter: 1_000, clock });
      const fn = flaky([new Error('x')], 'ok');
      expect(await run(clock, policy.execute(fn))).toEqual({ ok: true, value: 'ok' });
      expect(clock.now()).toBe(90_000);
    });

    it('a delay of Infinity from the outcome gives up instead of retrying at once', async () => {
      const clock = new VirtualClock();
      const policy = retry({
        maxAttempts: 3,
        backoff: 0,
        maxRetryAfter: Number.POSITIVE_INFINITY,
        delay: () => Number.POSITIVE_INFINITY,
        clock,
      });
      const reasons: string[] = [];
      policy.on('giveUp', (e) => reasons.push(e.reason));
      const fn = flaky([new Error('x')], 'ok');
      expect(await run(clock, policy.execute(fn))).toMatchObject({ ok: false });
      expect(fn).toHaveBeenCalledTimes(1);
      expect(reasons).toEqual(['retryAfter']);
    });

    it('maxRetryAfter: Infinity honours any finite retryAfter', async () => {
      const clock = new VirtualClock();
      const fn = flaky([new RateLimitedError(3_600_000)], 'ok');
      const policy = retry({ backoff: 0, maxRetryAfter: Number.POSITIVE_INFINITY, clock });
      expect(await run(clock, policy.execute(fn))).toEqual({ ok: true, value: 'ok' });
      expect(clock.now()).toBe(3_600_000);
    });
  });

  describe('maxDuration', () => {
    it('starts no retry whose wait would end past maxDuration after the first attempt began', async () => {
      const clock = new VirtualClock({ start: 1_000 });
      const policy = retry({ maxAttempts: 10, backoff: 100, maxDuration: 350, clock });
      const events = record(policy);
      const at: number[] = [];
      const outcome = await run(
        clock,
        policy.execute(async () => {
          at.push(clock.now() - 1_000);
          throw new Error(`attempt ${at.length}`);
        }),
      );
      // Attempts at 0, 100, 200, 300; a retry at 400 would pass 350.
      expect(at).toEqual([0, 100, 200, 300]);
      expect(outcome).toEqual({ ok: false, error: new Error('attempt 4') });
      expect(events.at(-2)).toEqual([
        'giveUp',
        { attempts: 4, reason: 'maxDuration', error: new Error('attempt 4') },
      ]);
    });

    it('counts the time attempts themselves take', async () => {
      const clock = new VirtualClock();
      const policy = retry({ maxAttempts: 10, backoff: 10, maxDuration: 1_000, clock });
      let n = 0;
      const call = policy.execute(async () => {
        n++;
        await new Promise<void>((r) => clock.setTimeout(r, 400));
        throw new Error('slow failure');
      });
      await run(clock, call);
      // Attempts run 0–400, 410–810, 820–1220; a fourth would start at 1230, past 1000.
      expect(n).toBe(3);
      expect(clock.now()).toBe(1_220);
    });
  });

  describe('budget', () => {
    it('records one first attempt per call and asks before every retry; over budget it gives up with the last error', async () => {
      const clock = new VirtualClock();
      let tokens = 1;
      const budget = {
        recordAttempt: vi.fn(),
        tryRetry: vi.fn(() => tokens-- > 0),
      };
      const policy = retry({ maxAttempts: 5, backoff: 1, budget, clock });
      const events = record(policy);
      const fn = flaky([new Error('1'), new Error('2'), new Error('3')], 'ok');
      const outcome = await run(clock, policy.execute(fn));
      expect(outcome).toEqual({ ok: false, error: new Error('2') });
      expect(fn).toHaveBeenCalledTimes(2);
      expect(budget.recordAttempt).toHaveBeenCalledTimes(1);
      expect(budget.tryRetry).toHaveBeenCalledTimes(2);
      expect(events.at(-2)).toEqual(['giveUp', { attempts: 2, reason: 'budget', error: new Error('2') }]);
    });

    it('is not asked when the call succeeds first time or when maxAttempts already stops it', async () => {
      const budget = { recordAttempt: vi.fn(), tryRetry: vi.fn(() => true) };
      await retry({ budget }).execute(() => 'ok');
      await expect(
        retry({ budget, maxAttempts: 1 }).execute(() => Promise.reject(new Error('x'))),
      ).rejects.toThrow('x');
      expect(budget.recordAttempt).toHaveBeenCalledTimes(2);
      expect(budget.tryRetry).not.toHaveBeenCalled();
    });
  });

  describe('events', () => {
    it('emits retry with attempt, delay and error, then giveUp and failure when exhausted', async () => {
      const clock = new VirtualClock();
      const policy = retry({
        maxAttempts: 3,
        backoff: backoff.exponential({ initial: 10, jitter: 'none' }),
        clock,
      });
      const events = record(policy);
      const errors = [new Error('1'), new Error('2'), new Error('3')];
      await run(clock, policy.execute(flaky(errors, 'never')));
      expect(events).toEqual([
        ['retry', { attempt: 1, delay: 10, error: errors[0] }],
        ['retry', { attempt: 2, delay: 20, error: errors[1] }],
        ['giveUp', { attempts: 3, reason: 'maxAttempts', error: errors[2] }],
        ['failure', { error: errors[2] }],
      ]);
    });

    it('emits success with the value, on the first attempt and after retries', async () => {
      const clock = new VirtualClock();
      const policy = retry({ backoff: 1, clock });
      const events = record(policy);
      await policy.execute(() => 'first');
      await run(clock, policy.execute(flaky([new Error('x')], 'second')));
      expect(events.filter((e) => (e as [string])[0] === 'success')).toEqual([
        ['success', { value: 'first' }],
        ['success', { value: 'second' }],
      ]);
    });
  });

  it('nested retries multiply: each counts its own attempts', async () => {
    const clock = new VirtualClock();
    const attempts: number[] = [];
    const p = pipeline(
      retry({ maxAttempts: 2, backoff: 1, clock }),
      retry({ maxAttempts: 3, backoff: 1, clock }),
    );
    const outcome = await run(
      clock,
      p.execute((ctx) => {
        attempts.push(ctx.attempt);
        throw new Error('x');
      }),
    );
    expect(outcome).toMatchObject({ ok: false });
    // ctx.attempt is the innermost retry's count.
    expect(attempts).toEqual([1, 2, 3, 1, 2, 3]);
  });

  it('stops retrying once an enclosing timeout has aborted the call', async () => {
    const clock = new VirtualClock();
    let n = 0;
    const budget = { recordAttempt: vi.fn(), tryRetry: vi.fn(() => true) };
    const r = retry({ maxAttempts: 10, backoff: 100, clock, budget });
    const retries: number[] = [];
    r.on('retry', (e) => retries.push(e.attempt));
    const p = pipeline(timeout({ ms: 150, clock }), r);
    const outcome = await run(
      clock,
      p.execute(() => {
        n++;
        throw new Error('x');
      }),
    );
    expect(outcome).toMatchObject({ ok: false, error: { code: 'ERR_TIMEOUT' } });
    expect(n).toBe(2);
    expect(clock.now()).toBe(150);
    // The attempt that failed after the deadline is not followed by a retry: no event, no budget spent.
    expect(retries).toEqual([1, 2]);
    expect(budget.tryRetry).toHaveBeenCalledTimes(2);
  });

  it('wrap retries a plain function with its arguments', async () => {
    const clock = new VirtualClock();
    const fetchUser = vi.fn(async (id: number) => {
      if (fetchUser.mock.calls.length === 1) throw new Error('blip');
      return { id };
    });
    const safe = retry({ backoff: 1, clock }).wrap(fetchUser);
    expect(await run(clock, safe(7))).toEqual({ ok: true, value: { id: 7 } });
    expect(fetchUser).toHaveBeenCalledWith(7);
  });

  it('can be named', () => {
    expect(retry({ name: 'payments' }).name).toBe('payments');
  });
});
