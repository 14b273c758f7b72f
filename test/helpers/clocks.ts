import type { Clock } from '../../src/core/clock.js';
import { VirtualClock } from '../../src/testing/index.js';

/** A virtual clock that counts how often it is read (to pin that a policy reads time only when it needs to). */
export class ReadCountingClock implements Clock {
  readonly virtual = new VirtualClock();
  reads = 0;
  now(): number {
    this.reads++;
    return this.virtual.now();
  }
  setTimeout(callback: () => void, ms: number): unknown {
    return this.virtual.setTimeout(callback, ms);
  }
  clearTimeout(handle: unknown): void {
    this.virtual.clearTimeout(handle);
  }
}

/** A clock whose time the test sets directly, for code that must never schedule timers. */
export function manualClock(start = 0): Clock & { time: number } {
  return {
    time: start,
    now() {
      return this.time;
    },
    setTimeout: () => {
      throw new Error('no timer may be scheduled on this clock');
    },
    clearTimeout: () => {},
  };
}

/** A clock whose timers fire on the next microtask: backoff waits cost nothing. */
export const instantClock: Clock = {
  now: () => 0,
  setTimeout(callback) {
    queueMicrotask(callback);
    return 0;
  },
  clearTimeout() {},
};

/** A virtual clock that records every timer armed on it, with its `unref` flag (whether it may let the process exit). */
export class TimerRecordingClock extends VirtualClock {
  readonly armed: { ms: number; unref: boolean | undefined }[] = [];
  override setTimeout(callback: () => void, ms: number, unref?: boolean): unknown {
    this.armed.push({ ms, unref });
    return super.setTimeout(callback, ms);
  }
}
