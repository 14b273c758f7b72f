import type { Clock, TimerHandle } from '../core/clock.js';

interface VirtualTimer {
  id: number;
  at: number;
  callback: () => void;
}

/** Resolves after the microtasks queued so far (and those they queue, a few levels deep) have run. */
async function flushMicrotasks(rounds: number): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}

/** Options of {@link VirtualClock}. */
export interface VirtualClockOptions {
  /** The starting time in ms. Default 0. */
  start?: number;
  /**
   * Microtask rounds run after each timer fires, so promise chains started by
   * a timer settle before the next timer. Default 50.
   */
  settleRounds?: number;
}

/**
 * A clock that moves only when you advance it. Pass it as `clock` to any
 * policy, then `await clock.advance(ms)`: timers fire in order, and the
 * promise chains they start settle between them. Deterministic and instant.
 */
export class VirtualClock implements Clock {
  private time: number;
  private nextId = 1;
  private timers: VirtualTimer[] = [];
  private readonly settleRounds: number;

  constructor(options: VirtualClockOptions = {}) {
    this.time = options.start ?? 0;
    this.settleRounds = options.settleRounds ?? 50;
  }

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const timer: VirtualTimer = { id: this.nextId++, at: this.time + Math.max(0, ms), callback };
    // Keep timers sorted by time, then by creation, like a real event loop.
    let index = this.timers.length;
    while (index > 0 && this.timers[index - 1]!.at > timer.at) index--;
    this.timers.splice(index, 0, timer);
    return timer.id;
  }

  /** Cancels a pending timer; unknown or fired handles are ignored. */
  clearTimeout(handle: TimerHandle): void {
    const index = this.timers.findIndex((t) => t.id === handle);
    if (index >= 0) this.timers.splice(index, 1);
  }

  /** Timers not yet fired. */
  get pending(): number {
    return this.timers.length;
  }

  /** Moves time forward by `ms`, firing every timer due on the way. */
  async advance(ms: number): Promise<void> {
    if (!(ms >= 0)) throw new RangeError(`VirtualClock: advance needs ms ≥ 0, got ${ms}`);
    await this.advanceTo(this.time + ms);
  }

  /** Moves time forward to `time`, firing every timer due on the way. */
  async advanceTo(time: number): Promise<void> {
    await flushMicrotasks(this.settleRounds);
    for (;;) {
      const next = this.timers[0];
      if (next === undefined || next.at > time) break;
      this.timers.shift();
      this.time = Math.max(this.time, next.at);
      next.callback();
      await flushMicrotasks(this.settleRounds);
    }
    this.time = Math.max(this.time, time);
  }

  /** Fires timers until none is left (at most `limit`), returning how far time moved. */
  async runAll(limit = 10_000): Promise<number> {
    const start = this.time;
    await flushMicrotasks(this.settleRounds);
    for (let fired = 0; this.timers.length > 0; fired++) {
      if (fired >= limit)
        throw new Error(`VirtualClock: runAll stopped after ${limit} timers (a timer loop?)`);
      await this.advanceTo(this.timers[0]!.at);
    }
    return this.time - start;
  }

  /** Lets the promise chains queued so far settle without moving time. */
  async settle(): Promise<void> {
    await flushMicrotasks(this.settleRounds);
  }
}
