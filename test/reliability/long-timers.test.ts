import { afterEach, describe, expect, it, vi } from 'vitest';
import { setTimerKeepAlive } from '../../src/core/clock.js';
import { bulkhead, hedge, retry, systemClock, TimeoutError, timeout } from '../../src/index.js';
import { honours } from '../helpers/work.js';

// setTimeout fires a delay over 2^31 − 1 ms (24.8 days) after 1 ms, in Node
// and in browsers (and vitest's fake timers copy that). Found by fuzzing the
// options: `timeout(2 ** 31)` timed out at once.
const LONG = 2 ** 31 + 5_000;
const DAY = 86_400_000;

afterEach(() => {
  vi.useRealTimers();
});

describe('timers longer than 2^31 − 1 ms on the system clock', () => {
  it('systemClock fires a long timer at its due time, not after 1 ms', () => {
    vi.useFakeTimers({ now: 0 });
    const fired = vi.fn();
    systemClock.setTimeout(fired, LONG);
    vi.advanceTimersByTime(2 ** 31 - 1);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(LONG - (2 ** 31 - 1) - 1);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fired).toHaveBeenCalledTimes(1);
  });

  it('a cleared long timer never fires, even after it was re-armed', () => {
    vi.useFakeTimers({ now: 0 });
    const fired = vi.fn();
    const handle = systemClock.setTimeout(fired, 3 * 2 ** 31);
    vi.advanceTimersByTime(2 ** 31);
    systemClock.clearTimeout(handle);
    vi.advanceTimersByTime(4 * 2 ** 31);
    expect(fired).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a long timer keeps the process alive as asked: by default yes, with unref only while ref’d', () => {
    const active = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const base = active();
    const plain = systemClock.setTimeout(() => {}, LONG);
    expect(active()).toBe(base + 1);
    systemClock.clearTimeout(plain);
    expect(active()).toBe(base);
    const handle = systemClock.setTimeout(() => {}, LONG, true);
    const before = active();
    setTimerKeepAlive(handle, true);
    expect(active()).toBe(before + 1);
    setTimerKeepAlive(handle, false);
    expect(active()).toBe(before);
    systemClock.clearTimeout(handle);
  });

  it('a long timer keeps whatever ref state it was given or set to across re-arming', () => {
    vi.useFakeTimers({ now: 0 });
    /** The timer currently armed under a long timer (checked through the fake timer's hasRef). */
    const inner = (handle: unknown) => (handle as { handle: { hasRef(): boolean } }).handle;
    const refd = systemClock.setTimeout(() => {}, 3 * 2 ** 31);
    const unrefd = systemClock.setTimeout(() => {}, 3 * 2 ** 31, true);
    expect(inner(refd).hasRef()).toBe(true);
    expect(inner(unrefd).hasRef()).toBe(false);
    vi.advanceTimersByTime(2 ** 31);
    expect(inner(refd).hasRef()).toBe(true);
    expect(inner(unrefd).hasRef()).toBe(false);
    setTimerKeepAlive(refd, false);
    setTimerKeepAlive(unrefd, true);
    expect(inner(refd).hasRef()).toBe(false);
    expect(inner(unrefd).hasRef()).toBe(true);
    vi.advanceTimersByTime(2 ** 31);
    expect(inner(refd).hasRef()).toBe(false);
    expect(inner(unrefd).hasRef()).toBe(true);
    systemClock.clearTimeout(refd);
    systemClock.clearTimeout(unrefd);
  });

  it('long timers work where timers are plain numbers (browsers): ref and unref are optional', () => {
    vi.stubGlobal('setTimeout', () => 42);
    try {
      const handle = systemClock.setTimeout(() => {}, LONG, true);
      expect(() => setTimerKeepAlive(handle, true)).not.toThrow();
      expect(() => setTimerKeepAlive(handle, false)).not.toThrow();
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('timeout(2^31 + 5 s) does not time out after 1 ms, and does at its deadline', async () => {
    vi.useFakeTimers({ now: 0 });
    const call = timeout(LONG)
      .execute(honours)
      .catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(DAY);
    await vi.advanceTimersByTimeAsync(LONG - DAY - 1);
    let settled = false;
    void call.then(() => {
      settled = true;
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await call).toBeInstanceOf(TimeoutError);
  });

  it('a bulkhead queueTimeout over 2^31 ms does not reject queued calls after 1 ms', async () => {
    vi.useFakeTimers({ now: 0 });
    const policy = bulkhead({ limit: 1, queue: 1, queueTimeout: LONG });
    let release!: () => void;
    const first = policy.execute(() => new Promise<void>((resolve) => (release = resolve)));
    const second = policy.execute(() => 'second').catch((error: Error) => error.message);
    await vi.advanceTimersByTimeAsync(DAY);
    release();
    await first;
    expect(await second).toBe('second');
  });

  it('a hedge delay and a retry backoff over 2^31 ms wait that long', async () => {
    vi.useFakeTimers({ now: 0 });
    let attempts = 0;
    const hedged = hedge({ delay: LONG }).execute(() => {
      attempts++;
      return new Promise(() => {});
    });
    void hedged;
    await vi.advanceTimersByTimeAsync(DAY);
    expect(attempts).toBe(1);

    let tries = 0;
    const retried = retry({ maxAttempts: 2, backoff: LONG })
      .execute(() => {
        tries++;
        throw new Error('down');
      })
      .catch(() => undefined);
    await vi.advanceTimersByTimeAsync(DAY);
    expect(tries).toBe(1);
    await vi.advanceTimersByTimeAsync(LONG);
    await retried;
    expect(tries).toBe(2);
  });
});
