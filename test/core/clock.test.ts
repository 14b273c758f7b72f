import { afterEach, describe, expect, it, vi } from 'vitest';
import { checkClock, setTimerKeepAlive } from '../../src/core/clock.js';
import { retry, systemClock, timeout } from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('systemClock', () => {
  it('reads Date.now, setTimeout and clearTimeout at call time, so fake timers installed after import drive it', () => {
    vi.useFakeTimers({ now: 5_000 });
    expect(systemClock.now()).toBe(5_000);
    const fired = vi.fn();
    const cancelled = vi.fn();
    systemClock.setTimeout(fired, 100);
    const handle = systemClock.setTimeout(cancelled, 100);
    systemClock.clearTimeout(handle);
    vi.advanceTimersByTime(99);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fired).toHaveBeenCalledTimes(1);
    expect(cancelled).not.toHaveBeenCalled();
    expect(systemClock.now()).toBe(5_100);
  });

  it('policies on the default clock follow vi.useFakeTimers', async () => {
    vi.useFakeTimers();
    const attempts: number[] = [];
    const start = Date.now();
    const call = retry({ maxAttempts: 3, backoff: 1_000 }).execute(() => {
      attempts.push(Date.now() - start);
      if (attempts.length < 3) throw new Error('flaky');
      return 'ok';
    });
    await vi.advanceTimersByTimeAsync(2_000);
    await expect(call).resolves.toBe('ok');
    expect(attempts).toEqual([0, 1_000, 2_000]);

    const slow = timeout(500).execute(
      ({ signal }) =>
        new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
    );
    const outcome = slow.catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(500);
    expect(await outcome).toMatchObject({ code: 'ERR_TIMEOUT', timeout: 500 });
  });

  it('an unref timer does not keep the process alive; a plain one does', () => {
    const plain = systemClock.setTimeout(() => {}, 60_000) as NodeJS.Timeout;
    const unref = systemClock.setTimeout(() => {}, 60_000, true) as NodeJS.Timeout;
    expect(plain.hasRef()).toBe(true);
    expect(unref.hasRef()).toBe(false);
    systemClock.clearTimeout(plain);
    systemClock.clearTimeout(unref);
  });
});

describe('setTimerKeepAlive', () => {
  it('refs and unrefs Node timers', () => {
    const handle = setTimeout(() => {}, 60_000);
    setTimerKeepAlive(handle, false);
    expect(handle.hasRef()).toBe(false);
    setTimerKeepAlive(handle, true);
    expect(handle.hasRef()).toBe(true);
    clearTimeout(handle);
  });

  it('is a no-op for handles without ref/unref (browsers, virtual clocks)', () => {
    expect(() => setTimerKeepAlive(42, false)).not.toThrow();
    expect(() => setTimerKeepAlive(null, true)).not.toThrow();
    expect(() => setTimerKeepAlive({}, true)).not.toThrow();
  });
});

describe('checkClock', () => {
  it('defaults to the system clock and accepts any object with the three methods', () => {
    expect(checkClock('p', undefined)).toBe(systemClock);
    const clock = new VirtualClock();
    expect(checkClock('p', clock)).toBe(clock);
  });

  it('names the policy when a clock lacks a method', () => {
    expect(() => checkClock('timeout', { now: () => 0, setTimeout: () => 0 })).toThrow(
      new TypeError('timeout: clock must have now(), setTimeout() and clearTimeout(), got object'),
    );
    expect(() => checkClock('p', 'clock')).toThrow(/got string/);
  });
});
