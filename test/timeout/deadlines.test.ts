import { describe, expect, it } from 'vitest';
import type { Clock } from '../../src/core/clock.js';
import { type Context, timeout } from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';
import { type DeadlineEntry, DeadlineQueue } from '../../src/timeout/deadlines.js';

/** A timer handle that records whether it would keep a process alive, like Node's. */
interface Handle {
  id: unknown;
  keepsAlive: boolean;
  ref(): void;
  unref(): void;
}

/** A virtual clock that counts the timers it is asked for and hands out ref/unref-able handles. */
class CountingClock implements Clock {
  readonly virtual = new VirtualClock();
  started = 0;
  readonly handles: Handle[] = [];
  now(): number {
    return this.virtual.now();
  }
  setTimeout(callback: () => void, ms: number): Handle {
    this.started++;
    const handle: Handle = {
      id: this.virtual.setTimeout(callback, ms),
      keepsAlive: true,
      ref() {
        handle.keepsAlive = true;
      },
      unref() {
        handle.keepsAlive = false;
      },
    };
    this.handles.push(handle);
    return handle;
  }
  clearTimeout(handle: unknown): void {
    this.virtual.clearTimeout((handle as Handle).id);
  }
}

function honours({ signal }: Context): Promise<never> {
  return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
}

describe('the shared deadline queue', () => {
  it('one timer serves many concurrent calls', async () => {
    const clock = new CountingClock();
    const policy = timeout({ ms: 1_000, clock });
    const calls = Array.from({ length: 100 }, (_, i) => policy.execute(() => i));
    expect(await Promise.all(calls)).toHaveLength(100);
    expect(clock.started).toBe(1);
    // More calls while that timer is still armed start no new timer either.
    await Promise.all(Array.from({ length: 100 }, () => policy.execute(() => 'again')));
    expect(clock.started).toBe(1);
  });

  it('the timer stops holding the process when the policy goes idle, and holds it again while a call waits', async () => {
    const clock = new CountingClock();
    const policy = timeout({ ms: 1_000, clock });
    let finish!: (v: string) => void;
    const call = policy.execute(() => new Promise<string>((r) => (finish = r)));
    const handle = clock.handles[0]!;
    expect(handle.keepsAlive).toBe(true);
    finish('done');
    await call;
    expect(handle.keepsAlive).toBe(false);
    // A new call re-uses the armed timer and makes it hold the process again.
    let finishAgain!: (v: string) => void;
    const again = policy.execute(() => new Promise<string>((r) => (finishAgain = r)));
    expect(clock.started).toBe(1);
    expect(handle.keepsAlive).toBe(true);
    finishAgain('done');
    await again;
    expect(handle.keepsAlive).toBe(false);
  });

  it('the timer disarms when it fires on an empty queue: an idle policy holds no timer', async () => {
    const clock = new CountingClock();
    const policy = timeout({ ms: 1_000, clock });
    await policy.execute(() => 'quick');
    expect(clock.virtual.pending).toBe(1);
    await clock.virtual.advance(1_000);
    expect(clock.virtual.pending).toBe(0);
    await clock.virtual.advance(60_000);
    expect(clock.started).toBe(1);
    // The next call arms a fresh one.
    await policy.execute(() => 'later');
    expect(clock.started).toBe(2);
  });

  it('many calls expire in order, each at its own deadline, with one timer armed at a time', async () => {
    const clock = new CountingClock();
    const policy = timeout({ ms: 100, clock });
    const expired: [number, number][] = [];
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < 10; i++) {
      calls.push(
        policy.execute(honours).catch(() => {
          expired.push([i, clock.now()]);
        }),
      );
      // Every other call finishes on time: removing entries from the middle keeps the order.
      if (i % 2 === 1) calls.push(policy.execute(() => 'fast'));
      await clock.virtual.advance(7);
      expect(clock.virtual.pending).toBeLessThanOrEqual(1);
    }
    await clock.virtual.runAll();
    await Promise.all(calls);
    expect(expired).toEqual(Array.from({ length: 10 }, (_, i) => [i, i * 7 + 100]));
    expect(clock.virtual.pending).toBe(0);
  });

  it('calls removed before their deadline never expire, wherever they sit in the queue', async () => {
    const clock = new VirtualClock();
    const queue = new DeadlineQueue(clock);
    const expired: string[] = [];
    const entry = (name: string, deadline: number): DeadlineEntry => ({
      deadline,
      prev: undefined,
      next: undefined,
      queued: false,
      expire: () => expired.push(name),
    });
    const [a, b, c, d] = [entry('a', 10), entry('b', 20), entry('c', 30), entry('d', 40)];
    expect(queue.empty).toBe(true);
    for (const e of [a, b, c, d]) queue.add(e);
    expect(queue.empty).toBe(false);
    queue.remove(b); // middle
    queue.remove(a); // head
    queue.remove(d); // tail
    queue.remove(d); // twice: no-op
    expect(d.queued).toBe(false);
    await clock.runAll();
    expect(expired).toEqual(['c']);
    expect(queue.empty).toBe(true);
  });

  it('expires everything due by the time its timer was set for, even if the timer fires early', () => {
    let time = 0;
    let pending: (() => void) | undefined;
    const early: Clock = {
      now: () => time,
      setTimeout: (callback) => {
        pending = callback;
        return 1;
      },
      clearTimeout: () => {},
    };
    const queue = new DeadlineQueue(early);
    const expired: number[] = [];
    const entry = (deadline: number): DeadlineEntry => ({
      deadline,
      prev: undefined,
      next: undefined,
      queued: false,
      expire: () => expired.push(deadline),
    });
    queue.add(entry(100));
    queue.add(entry(100));
    queue.add(entry(150));
    time = 99; // fires 1 ms early
    pending!();
    expect(expired).toEqual([100, 100]);
    // Re-armed for the next deadline.
    time = 150;
    pending!();
    expect(expired).toEqual([100, 100, 150]);
  });
});
