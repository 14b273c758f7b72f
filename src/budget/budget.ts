import type { RetryBudgetContract } from '../core/budget.js';
import { checkClock, type Clock } from '../core/clock.js';
import { Emitter } from '../core/events.js';
import { checkKeys, checkNumber, checkObject, checkString } from '../core/validate.js';

/** Options of `retryBudget()`. */
export interface RetryBudgetOptions {
  /**
   * Retries allowed per first attempt in the window, on top of the floor.
   * Default 0.2 (Finagle, Envoy, failsafe-go). 0 leaves the floor alone.
   */
  ratio?: number;
  /**
   * Retries always allowed per second of window, however few first attempts
   * there were, so a quiet service can still retry. Default 10 (Finagle).
   */
  minPerSecond?: number;
  /** How far back first attempts and retries count, in ms. Default 10 000 (Finagle's ttl). */
  window?: number;
  /** Where time is read (the budget sets no timers). Default `systemClock`. */
  clock?: Clock;
  /** A name for telemetry; default `retryBudget`. */
  name?: string;
}

/** Events of a retry budget. */
export interface RetryBudgetEvents {
  /** A retry (or hedge) was refused: the budget is spent. Emitted per refusal. */
  exhausted: {
    /** First attempts counted in the window. */
    readonly attempts: number;
    /** Retries counted in the window. */
    readonly retries: number;
    /** Most retries the window allows: `ratio × attempts + minPerSecond × window / 1000`. */
    readonly limit: number;
  };
}

/** What a budget has counted in its current window. */
export interface RetryBudgetStats {
  /** First attempts in the window. */
  readonly attempts: number;
  /** Retries (and hedges) taken in the window. */
  readonly retries: number;
  /** Retries that may still be taken now. */
  readonly available: number;
}

/** Option names `retryBudget()` accepts. */
export const RETRY_BUDGET_OPTIONS = ['ratio', 'minPerSecond', 'window', 'clock', 'name'] as const;

/** Buckets per window: finer buckets track the window more closely at the cost of a longer sum. */
const BUCKETS = 10;

/**
 * A Finagle-style retry budget shared by any number of `retry` and `hedge`
 * policies. Create it with `retryBudget()`.
 *
 * Counts live in a ring of time buckets rotated on demand (no timer). The
 * check is conservative both ways: retries are summed over a span that
 * covers at least the whole window, first attempts over a span that lies
 * inside it, so in the window that ends at any retry, retries never exceed
 * `ratio × first attempts + floor`.
 */
export class RetryBudget extends Emitter<RetryBudgetEvents> implements RetryBudgetContract {
  /** Retries allowed per first attempt in the window. */
  readonly ratio: number;
  /** Retries always allowed per second of window. */
  readonly minPerSecond: number;
  /** The window, in ms. */
  readonly window: number;
  /** Retries allowed per window however few first attempts there were. */
  readonly floor: number;
  private readonly clock: Clock;
  private readonly bucketMs: number;
  // One bucket more than the window holds: the oldest, partly expired one
  // still counts retries (never first attempts), which keeps the check safe.
  private readonly attemptCounts = new Float64Array(BUCKETS + 1);
  private readonly retryCounts = new Float64Array(BUCKETS + 1);
  /** Absolute number (time / bucketMs) of the newest bucket. */
  private head = Number.NEGATIVE_INFINITY;

  constructor(options: RetryBudgetOptions = {}) {
    const p = 'retryBudget';
    checkObject(p, 'options', options);
    checkKeys(p, options, RETRY_BUDGET_OPTIONS);
    super('retryBudget', checkString(p, 'name', options.name));
    this.ratio = checkNumber(p, 'ratio', options.ratio, { min: 0 }, 0.2);
    this.minPerSecond = checkNumber(p, 'minPerSecond', options.minPerSecond, { min: 0 }, 10);
    this.window = checkNumber(p, 'window', options.window, { min: 0, exclusiveMin: true }, 10_000);
    this.clock = checkClock(p, options.clock);
    this.floor = (this.minPerSecond * this.window) / 1000;
    this.bucketMs = this.window / BUCKETS;
  }

  /** Records a first attempt: each one adds `ratio` to the retries the window allows. */
  recordAttempt(): void {
    this.attemptCounts[this.rotate()]! += 1;
  }

  /** Takes one retry if the window allows it; false (and an `exhausted` event) when spent. */
  tryRetry(): boolean {
    const index = this.rotate();
    const attempts = this.sumAttempts(index);
    const retries = this.sumRetries();
    const limit = this.ratio * attempts + this.floor;
    if (retries + 1 > limit) {
      if (this.listening('exhausted')) this.emit('exhausted', { attempts, retries, limit });
      return false;
    }
    this.retryCounts[index]! += 1;
    return true;
  }

  /** First attempts, retries and retries still available in the current window. */
  get stats(): RetryBudgetStats {
    const index = this.rotate();
    const attempts = this.sumAttempts(index);
    const retries = this.sumRetries();
    const available = Math.max(0, Math.floor(this.ratio * attempts + this.floor - retries));
    return { attempts, retries, available };
  }

  /** Moves the ring to the current time, clearing expired buckets; returns the current bucket's slot. */
  private rotate(): number {
    const size = BUCKETS + 1;
    const bucket = Math.floor(this.clock.now() / this.bucketMs);
    const head = this.head;
    if (bucket > head) {
      // A clock that jumps back keeps using the newest bucket (bucket < head).
      const stale = Math.min(bucket - head, size);
      for (let k = 1; k <= stale; k++) {
        const slot = mod(bucket - stale + k, size);
        this.attemptCounts[slot] = 0;
        this.retryCounts[slot] = 0;
      }
      this.head = bucket;
    }
    return mod(this.head, size);
  }

  /** First attempts in the newest `BUCKETS` buckets: all within the window ending now. */
  private sumAttempts(current: number): number {
    const size = BUCKETS + 1;
    // The slot after the current one is the oldest, partly expired bucket.
    const oldest = current + 1 === size ? 0 : current + 1;
    let sum = 0;
    for (let slot = 0; slot < size; slot++) if (slot !== oldest) sum += this.attemptCounts[slot]!;
    return sum;
  }

  /** Retries in all buckets: a span at least as long as the window ending now. */
  private sumRetries(): number {
    let sum = 0;
    for (const count of this.retryCounts) sum += count;
    return sum;
  }
}

function mod(n: number, m: number): number {
  const r = n % m;
  return r < 0 ? r + m : r;
}

/**
 * A retry budget (Finagle-style) to share between `retry({ budget })` and
 * `hedge({ budget })` policies, e.g. one per downstream service: extra
 * attempts are allowed only while, over the last `window` ms, retries stay
 * within `ratio × first attempts + minPerSecond × window / 1000`.
 * Defaults: 20 % of first attempts plus 10 retries per second, over 10 s.
 */
export function retryBudget(options?: RetryBudgetOptions): RetryBudget {
  return new RetryBudget(options);
}
