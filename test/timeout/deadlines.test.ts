import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import type { Clock } from '../../src/core/clock.js';
import { type Context, timeout } from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';
import { type DeadlineEntry, DeadlineQueue } from '../../src/timeout/deadlines.js';
import { honours } from '../helpers/work.js';
import { entry } from './helpers.js';

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

/** A clock whose time and timers the test moves by hand, so a timer can run late (a blocked event loop). */
class ManualClock implements Clock {
  time = 0;
  reads = 0;
  readonly timers: { callback: () => void; due: number; unref: boolean }[] = [];
  now(): number {
    this.reads++;
    return this.time;
  }
  setTimeout(callback: () => void, ms: number, unref?: boolean): unknown {
    const timer = { callback, due: this.time + ms, unref: unref === true };
    this.timers.push(timer);
    return timer;
  }
  clearTimeout(handle: unknown): void {
    const i = this.timers.indexOf(handle as never);
    if (i >= 0) this.timers.splice(i, 1);
  }
  /** Runs the timers due by now, earliest first (late ones included). */
  runDue(): void {
    for (;;) {
      const due = this.timers.filter((t) => t.due <= this.time).sort((a, b) => a.due - b.due)[0];
      if (due === undefined) return;
      this.timers.splice(this.timers.indexOf(due), 1);
      due.callback();
    }
  }
}

/** A bare deadline entry that records when it expired. */
function entryAt(queue: DeadlineQueue, ms: number, clock: ManualClock, expired: number[]): DeadlineEntry {
  const entry: DeadlineEntry = {
    deadline: queue.deadlineAfter(ms),
    prev: undefined,
    next: undefined,
    queued: false,
    expire: () => expired.push(clock.time),
  };
  queue.add(entry);
  return entry;
}

describe('DeadlineQueue sharing clock readings (slack)', () => {
  const shares = () => true;

  it('reads the clock once per slack window, however many deadlines it hands out', () => {
    const clock = new ManualClock();
    clock.time = 1_000;
    const queue = new DeadlineQueue(clock, 10, shares);
    const deadlines = Array.from({ length: 100 }, () => queue.deadlineAfter(500));
    expect(clock.reads).toBe(1);
    // The first is exact; the others count from the end of the reading's window: late by ≤ slack, never early.
    expect(deadlines[0]).toBe(1_500);
    expect(new Set(deadlines.slice(1))).toEqual(new Set([1_510]));
    // The window ends with its (unref'd) timer; the next deadline reads the clock again.
    expect(clock.timers).toEqual([expect.objectContaining({ due: 1_010, unref: true })]);
    clock.time = 1_010;
    clock.runDue();
    clock.time = 1_012;
    expect(queue.deadlineAfter(500)).toBe(1_512);
    expect(clock.reads).toBe(3);
  });

  it('without slack, or when readings may not be shared, every deadline reads the clock', () => {
    const clock = new ManualClock();
    const exact = new DeadlineQueue(clock, 0, shares);
    const refused = new DeadlineQueue(clock, 10, () => false);
    for (let i = 0; i < 5; i++) {
      clock.time += 1;
      expect(exact.deadlineAfter(100)).toBe(clock.time + 100);
      expect(refused.deadlineAfter(100)).toBe(clock.time + 100);
    }
    expect(clock.reads).toBe(10);
    expect(clock.timers).toEqual([]);
  });

  it('a deadline is never early and at most slack late, for any arrival times (timers on time)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 64, max: 5_000 }),
        fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 60 }),
        (slack, ms, gaps) => {
          const clock = new ManualClock();
          const queue = new DeadlineQueue(clock, slack, shares);
          for (const gap of gaps) {
            // Time moves in steps, and the window's timer runs on time at each step.
            for (let t = 0; t < gap; t++) {
              clock.time += 1;
              clock.runDue();
            }
            const deadline = queue.deadlineAfter(ms);
            expect(deadline).toBeGreaterThanOrEqual(clock.time + ms);
            expect(deadline).toBeLessThanOrEqual(clock.time + ms + slack);
          }
        },
      ),
    );
  });

  it('a blocked event loop cannot make a deadline early: the late window moves the shared deadlines', () => {
    const clock = new ManualClock();
    const queue = new DeadlineQueue(clock, 10, shares);
    const expired: number[] = [];
    const first = entryAt(queue, 1_000, clock, expired);
    const early = entryAt(queue, 1_000, clock, expired);
    // The loop is blocked for 300 ms: the window's timer cannot run, and calls started now share the old reading.
    clock.time = 300;
    const late = entryAt(queue, 1_000, clock, expired);
    expect(late.deadline).toBe(1_010);
    // When the loop unblocks, the window's timer runs first (it is due first) and moves them.
    clock.runDue();
    expect([first.deadline, early.deadline, late.deadline]).toEqual([1_000, 1_300, 1_300]);
    clock.time = 1_000;
    clock.runDue();
    expect(expired).toEqual([1_000]);
    clock.time = 1_299;
    clock.runDue();
    expect(expired).toEqual([1_000]);
    clock.time = 1_300;
    clock.runDue();
    expect(expired).toEqual([1_000, 1_300, 1_300]);
  });

  it('a timeout shares readings only on the real clock: virtual clocks and fake timers stay exact', async () => {
    const { isCostlyClock, systemClock } = await import('../../src/core/clock.js');
    expect(isCostlyClock(systemClock)).toBe(true);
    expect(isCostlyClock(new VirtualClock())).toBe(false);
    vi.useFakeTimers();
    try {
      expect(isCostlyClock(systemClock)).toBe(false);
      // Two calls started together under fake timers both time out at exactly 100 ms.
      const policy = timeout(100);
      const hang = (ctx: Context) =>
        new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
      const calls = [policy.execute(hang), policy.execute(hang)].map((p) => p.catch((e: Error) => e.name));
      await vi.advanceTimersByTimeAsync(99);
      let settled = 0;
      for (const call of calls) void call.then(() => settled++);
      await vi.advanceTimersByTimeAsync(0);
      expect(settled).toBe(0);
      await vi.advanceTimersByTimeAsync(1);
      expect(await Promise.all(calls)).toEqual(['TimeoutError', 'TimeoutError']);
    } finally {
      vi.useRealTimers();
    }
  });
});
