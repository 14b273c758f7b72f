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
  /** Deadline timers only: the zero-delay idle checks are counted apart. */
  deadlineTimers = 0;
  readonly handles: Handle[] = [];
  now(): number {
    return this.virtual.now();
  }
  setTimeout(callback: () => void, ms: number): Handle {
    this.started++;
    if (ms > 0) this.deadlineTimers++;
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
    expect(clock.deadlineTimers).toBe(1);
    // More calls while that timer is still armed start no new timer either,
    // and the idle check (one per turn of the event loop) is not repeated.
    await Promise.all(Array.from({ length: 100 }, () => policy.execute(() => 'again')));
    expect(clock.deadlineTimers).toBe(1);
    expect(clock.started).toBe(2);
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
    // Let go on the next turn, not on every settle (calls in a row would toggle it each time).
    expect(handle.keepsAlive).toBe(true);
    await clock.virtual.advance(0);
    expect(handle.keepsAlive).toBe(false);
    // A new call re-uses the armed timer and makes it hold the process again.
    let finishAgain!: (v: string) => void;
    const again = policy.execute(() => new Promise<string>((r) => (finishAgain = r)));
    expect(clock.deadlineTimers).toBe(1);
    expect(handle.keepsAlive).toBe(true);
    finishAgain('done');
    await again;
    await clock.virtual.advance(0);
    expect(handle.keepsAlive).toBe(false);
  });

  it('the timer disarms when it fires on an empty queue: an idle policy holds no timer', async () => {
    const clock = new CountingClock();
    const policy = timeout({ ms: 1_000, clock });
    await policy.execute(() => 'quick');
    await clock.virtual.advance(0); // the idle check runs on the next turn
    expect(clock.virtual.pending).toBe(1);
    await clock.virtual.advance(1_000);
    expect(clock.virtual.pending).toBe(0);
    await clock.virtual.advance(60_000);
    expect(clock.deadlineTimers).toBe(1);
    // The next call arms a fresh one.
    await policy.execute(() => 'later');
    expect(clock.deadlineTimers).toBe(2);
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
});

/** A bare entry; `expire` says what happens when its deadline passes. */
function entry(deadline: number, expire: () => void = () => {}): DeadlineEntry {
  return { deadline, prev: undefined, next: undefined, queued: false, expire };
}

/** An entry that records its name and the time it expired at. */
function at(clock: Clock, fired: string[], deadline: number, name = String(deadline)): DeadlineEntry {
  return entry(deadline, () => fired.push(`${name}@${clock.now()}`));
}

describe('DeadlineQueue', () => {
  it('expires entries at their deadlines, in deadline order, with one timer', async () => {
    const clock = new VirtualClock();
    const queue = new DeadlineQueue(clock);
    const fired: string[] = [];
    queue.add(at(clock, fired, 100));
    queue.add(at(clock, fired, 200));
    queue.add(at(clock, fired, 200, '200b'));
    expect(clock.pending).toBe(1);
    await clock.advance(300);
    expect(fired).toEqual(['100@100', '200@200', '200b@200']);
  });

  it('an earlier deadline added later (a hedge whose quantile delay shrank) re-arms the timer', async () => {
    const clock = new VirtualClock();
    const queue = new DeadlineQueue(clock);
    const fired: string[] = [];
    queue.add(at(clock, fired, 500));
    queue.add(at(clock, fired, 300));
    queue.add(at(clock, fired, 50));
    queue.add(at(clock, fired, 400));
    expect(clock.pending).toBe(1);
    await clock.advance(1_000);
    expect(fired).toEqual(['50@50', '300@300', '400@400', '500@500']);
  });

  it('entries removed before their deadline never expire, wherever they sit in the queue', async () => {
    const clock = new VirtualClock();
    const queue = new DeadlineQueue(clock);
    const expired: string[] = [];
    const [a, b, c, d] = [
      at(clock, expired, 10),
      at(clock, expired, 20),
      at(clock, expired, 30),
      at(clock, expired, 40),
    ];
    expect(queue.empty).toBe(true);
    for (const e of [a, b, c, d]) queue.add(e);
    expect(queue.empty).toBe(false);
    queue.remove(b); // middle
    queue.remove(a); // head
    queue.remove(d); // tail
    queue.remove(d); // twice: no-op
    expect(d.queued).toBe(false);
    await clock.runAll();
    // c still expires at its own deadline after the head it was armed for left.
    expect(expired).toEqual(['30@30']);
    expect(queue.empty).toBe(true);
    expect(clock.pending).toBe(0);
  });

  it('an entry may re-add itself when it expires (the next hedge of the same call)', async () => {
    const clock = new VirtualClock();
    const queue = new DeadlineQueue(clock);
    const fired: number[] = [];
    const e = entry(100, () => {
      fired.push(clock.now());
      if (fired.length < 3) {
        e.deadline = clock.now() + 100;
        queue.add(e);
      }
    });
    queue.add(e);
    await clock.advance(1_000);
    expect(fired).toEqual([100, 200, 300]);
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
    for (const deadline of [100, 100, 150]) queue.add(entry(deadline, () => expired.push(deadline)));
    time = 99; // fires 1 ms early
    pending!();
    expect(expired).toEqual([100, 100]);
    // Re-armed for the next deadline.
    time = 150;
    pending!();
    expect(expired).toEqual([100, 100, 150]);
  });

  it('unrefs its timer on the turn after the last entry leaves, and refs it again when one arrives', () => {
    const calls: string[] = [];
    const handle = { ref: () => calls.push('ref'), unref: () => calls.push('unref') };
    const idleChecks: (() => void)[] = [];
    const clock: Clock = {
      now: () => 0,
      setTimeout: (callback, ms) => {
        if (ms === 0) idleChecks.push(callback);
        return handle;
      },
      clearTimeout: () => {},
    };
    const queue = new DeadlineQueue(clock);
    const a = entry(100);
    queue.add(a);
    queue.remove(a);
    expect(calls).toEqual([]);
    // Entries coming and going within one turn toggle nothing and schedule one check.
    const b = entry(120);
    queue.add(b);
    queue.remove(b);
    expect(idleChecks).toHaveLength(1);
    idleChecks.shift()!();
    expect(calls).toEqual(['unref']);
    queue.add(entry(150));
    expect(calls).toEqual(['unref', 'ref']);
  });

  it('keeps holding the process when an entry arrived before the idle check ran', () => {
    const calls: string[] = [];
    const handle = { ref: () => calls.push('ref'), unref: () => calls.push('unref') };
    const idleChecks: (() => void)[] = [];
    const clock: Clock = {
      now: () => 0,
      setTimeout: (callback, ms) => {
        if (ms === 0) idleChecks.push(callback);
        return handle;
      },
      clearTimeout: () => {},
    };
    const queue = new DeadlineQueue(clock);
    const a = entry(100);
    queue.add(a);
    queue.remove(a);
    queue.add(entry(150));
    idleChecks.shift()!();
    expect(calls).toEqual([]);
  });
});
