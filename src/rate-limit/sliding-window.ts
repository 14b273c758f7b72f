import type { Limiter } from './limiter.js';

/**
 * An exact sliding-window log: a ring of the last `limit` admission times,
 * oldest first. A call of cost `c` is admitted when the `c` oldest entries
 * are older than the window, which means at most `limit - c` admissions lie
 * inside it. O(cost) per call, `limit` numbers of memory, no timer.
 * @internal
 */
export class SlidingWindow implements Limiter {
  readonly capacity: number;
  private readonly window: number;
  private readonly stamps: Float64Array;
  /** Ring index of the oldest admission. */
  private oldest = 0;
  private latest = Number.NEGATIVE_INFINITY;

  constructor(limit: number, window: number) {
    this.capacity = limit;
    this.window = window;
    this.stamps = new Float64Array(limit).fill(Number.NEGATIVE_INFINITY);
  }

  private at(k: number): number {
    return this.stamps[(this.oldest + k) % this.capacity]!;
  }

  tryTake(now: number, cost: number): number {
    // The log must stay in time order even if the clock steps back.
    if (now < this.latest) now = this.latest;
    const freedAt = this.at(cost - 1) + this.window;
    if (freedAt > now) return Math.ceil(freedAt - now);
    const stamps = this.stamps;
    const limit = this.capacity;
    let i = this.oldest;
    for (let k = 0; k < cost; k++) {
      stamps[i] = now;
      i = i + 1 === limit ? 0 : i + 1;
    }
    this.oldest = i;
    this.latest = now;
    return 0;
  }

  waitFor(now: number, ahead: number, cost: number): number {
    if (now < this.latest) now = this.latest;
    // The j-th permit from now reuses the slot of the (j mod limit)-th oldest
    // entry, a whole window later for every time round the ring.
    const j = ahead + cost - 1;
    const laps = Math.floor(j / this.capacity);
    const freedAt = Math.max(now, this.at(j % this.capacity) + this.window) + laps * this.window;
    return Math.ceil(freedAt - now);
  }

  available(now: number): number {
    if (now < this.latest) now = this.latest;
    // Entries are in time order, so the expired ones are a prefix: binary search it.
    let lo = 0;
    let hi = this.capacity;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.at(mid) + this.window <= now) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
