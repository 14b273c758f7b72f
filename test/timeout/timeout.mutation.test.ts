/**
 * Tests written to kill mutants that survived `npm run mutation` on
 * src/timeout (see docs/testing.md, "Mutation testing"): each pins a
 * behaviour that no other test observed. Named after the behaviour, not the mutant.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Clock } from '../../src/core/clock.js';
import { BulkheadFullError, bulkhead, pipeline, TimeoutError, timeout } from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';
import { DeadlineQueue } from '../../src/timeout/deadlines.js';
import { honours } from '../helpers/work.js';
import { entry } from './helpers.js';

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('timeout (timeout/timeout)', () => {
  it("error message names the option 'name'", () => {
    expect(() => timeout({ ms: 10, name: '' })).toThrow(
      new TypeError('timeout: name must be a non-empty string, got ""'),
    );
  });

  describe('on the real clock, calls share a reading for min(ms / 64, 25) ms when that is ≥ 1 ms', () => {
    /** The delays of the real timers one quick call of `policy` sets (reading window, deadline, idle check). */
    async function timerDelays(ms: number): Promise<number[]> {
      const policy = timeout(ms);
      const spy = vi.spyOn(globalThis, 'setTimeout');
      expect(await policy.execute(() => 'quick')).toBe('quick');
      const delays = spy.mock.calls.map((call) => call[1] as number);
      spy.mockRestore();
      return delays;
    }

    it('640 ms: a 10 ms reading window (ms / 64), then the deadline', async () => {
      const [window, deadline, idleCheck, ...rest] = await timerDelays(640);
      expect(window).toBe(10);
      // The deadline's delay: 640 ms, less any time the clock moved since it was read.
      expect(deadline).toBeGreaterThan(600);
      expect(deadline).toBeLessThanOrEqual(640);
      expect([idleCheck, rest]).toEqual([0, []]);
    });

    it('64 ms: a window of exactly 1 ms still shares', async () => {
      const [window, deadline, idleCheck, ...rest] = await timerDelays(64);
      expect(window).toBe(1);
      // The deadline's delay: 64 ms, less any time the clock moved since it was read.
      expect(deadline).toBeGreaterThan(32);
      expect(deadline).toBeLessThanOrEqual(64);
      expect([idleCheck, rest]).toEqual([0, []]);
    });

    it('32 ms: under 1 ms of slack, every call reads the clock (no window timer)', async () => {
      const [deadline, idleCheck, ...rest] = await timerDelays(32);
      // The deadline's delay: 32 ms, less any time the clock moved since it was read.
      expect(deadline).toBeGreaterThan(16);
      expect(deadline).toBeLessThanOrEqual(32);
      expect([idleCheck, rest]).toEqual([0, []]);
    });

    it('25 ms at most, however long the timeout', async () => {
      const [window] = await timerDelays(60_000);
      expect(window).toBe(25);
    });
  });

  describe('aggressive', () => {
    it('a deadline that passes while the work is still being started rejects with TimeoutError', async () => {
      vi.useFakeTimers();
      const policy = timeout({ ms: 100, strategy: 'aggressive' });
      const failures: unknown[] = [];
      policy.on('failure', ({ error }) => failures.push(error));
      let outcome: unknown = 'pending';
      policy
        .execute(() => {
          // Synchronous work that runs past the deadline: fake timers fire it right here.
          vi.advanceTimersByTime(100);
          return 'late';
        })
        .then(
          (value) => (outcome = value),
          (error: unknown) => (outcome = error),
        );
      await vi.advanceTimersByTimeAsync(0);
      expect(outcome).toBeInstanceOf(TimeoutError);
      expect(failures).toEqual([outcome]);
    });

    it('a deadline that passes while the work is being started still holds a bulkhead slot outside until the work ends', async () => {
      vi.useFakeTimers();
      const policy = pipeline(bulkhead({ limit: 1, queue: 0 }), timeout({ ms: 100, strategy: 'aggressive' }));
      let finish!: () => void;
      const first = policy
        .execute(() => {
          vi.advanceTimersByTime(100);
          return new Promise<string>((resolve) => (finish = () => resolve('late')));
        })
        .catch((error: unknown) => error);
      await vi.advanceTimersByTimeAsync(0);
      expect(await first).toBeInstanceOf(TimeoutError);
      // The first call's work is still running: its slot is not free yet.
      await expect(policy.execute(() => 'second')).rejects.toBeInstanceOf(BulkheadFullError);
      finish();
      await vi.advanceTimersByTimeAsync(0);
      await expect(policy.execute(() => 'third')).resolves.toBe('third');
    });

    it('work that honours the abort after the deadline reports one failure, not two', async () => {
      const clock = new VirtualClock();
      const policy = timeout({ ms: 100, strategy: 'aggressive', clock });
      const seen: unknown[] = [];
      policy.on('success', (event) => seen.push(['success', event]));
      policy.on('failure', (event) => seen.push(['failure', event]));
      const call = policy.execute(honours).catch((error: unknown) => error);
      await clock.runAll();
      const error = await call;
      expect(error).toBeInstanceOf(TimeoutError);
      expect(seen).toEqual([['failure', { error }]]);
    });
  });
});

/** A timer handle that records whether it would keep a process alive, like Node's. */
interface RecordedTimer {
  callback: () => void;
  ms: number;
  keepsAlive: boolean;
  ref(): void;
  unref(): void;
}

/** A clock whose time the test sets and whose timers the test runs by hand. */
class RecordingClock implements Clock {
  time = 0;
  readonly timers: RecordedTimer[] = [];
  now(): number {
    return this.time;
  }
  setTimeout(callback: () => void, ms: number, unref?: boolean): RecordedTimer {
    const timer: RecordedTimer = {
      callback,
      ms,
      keepsAlive: unref !== true,
      ref() {
        timer.keepsAlive = true;
      },
      unref() {
        timer.keepsAlive = false;
      },
    };
    this.timers.push(timer);
    return timer;
  }
  clearTimeout(): void {}
  /** [ms, keepsAlive] of every timer set so far, in order. */
  get set(): [number, boolean][] {
    return this.timers.map((t) => [t.ms, t.keepsAlive]);
  }
}

describe('DeadlineQueue (timeout/deadlines)', () => {
  it('a reading window whose timer fires early moves no deadline', () => {
    const clock = new RecordingClock();
    const queue = new DeadlineQueue(clock, 10, () => true);
    const first = entry(queue.deadlineAfter(1_000));
    const shared = entry(queue.deadlineAfter(1_000));
    queue.add(first);
    queue.add(shared);
    expect([first.deadline, shared.deadline]).toEqual([1_000, 1_010]);
    const window = clock.timers[0]!;
    expect([window.ms, window.keepsAlive]).toEqual([10, false]);
    clock.time = 5; // 5 ms early: the reading has not gone stale
    window.callback();
    expect([first.deadline, shared.deadline]).toEqual([1_000, 1_010]);
    // The window is over all the same: the next deadline reads the clock.
    expect(queue.deadlineAfter(1_000)).toBe(1_005);
  });

  it('removing an entry that is not the last sets no idle check; the last sets one unref’d 0 ms check', () => {
    const clock = new RecordingClock();
    const queue = new DeadlineQueue(clock);
    const a = entry(100);
    const b = entry(200);
    queue.add(a);
    queue.add(b);
    expect(clock.set).toEqual([[100, true]]);
    queue.remove(a);
    expect(clock.set).toEqual([[100, true]]);
    queue.remove(b);
    expect(clock.set).toEqual([
      [100, true],
      [0, false],
    ]);
    clock.timers[1]!.callback();
    expect(clock.set).toEqual([
      [100, false],
      [0, false],
    ]);
  });

  it('a deadline timer that expires the last entry sets no idle check: it is already gone', () => {
    const clock = new RecordingClock();
    const queue = new DeadlineQueue(clock);
    const expired: number[] = [];
    queue.add(entry(100, () => expired.push(clock.now())));
    clock.time = 100;
    clock.timers[0]!.callback();
    expect(expired).toEqual([100]);
    expect(queue.empty).toBe(true);
    expect(clock.set).toEqual([[100, true]]);
    // The next entry arms a fresh timer that holds the process.
    queue.add(entry(300));
    expect(clock.set).toEqual([
      [100, true],
      [200, true],
    ]);
  });
});
