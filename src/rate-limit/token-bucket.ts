import type { Limiter } from './limiter.js';

/**
 * A token bucket refilled on demand from the clock (no timer). The level is
 * kept in token·ms units (tokens × `per`), so integer rates and clock readings
 * refill in exact integer steps and `retryAfter` is never off by a rounding error.
 * @internal
 */
export class TokenBucket implements Limiter {
  readonly capacity: number;
  private readonly rate: number;
  private readonly per: number;
  private readonly full: number;
  private level: number;
  /** Last refill time; -Infinity until the first call, which therefore finds the bucket full. */
  private last = Number.NEGATIVE_INFINITY;

  constructor(rate: number, per: number, burst: number) {
    this.rate = rate;
    this.per = per;
    this.capacity = burst;
    this.full = burst * per;
    this.level = this.full;
  }

  private refill(now: number): void {
    // A clock that steps back refills nothing (and takes nothing back).
    if (now <= this.last) return;
    const level = this.level + (now - this.last) * this.rate;
    this.level = Math.min(level, this.full);
    this.last = now;
  }

  tryTake(now: number, cost: number): number {
    this.refill(now);
    const need = cost * this.per;
    if (this.level >= need) {
      this.level -= need;
      return 0;
    }
    return Math.ceil((need - this.level) / this.rate);
  }

  waitFor(now: number, ahead: number, cost: number): number {
    this.refill(now);
    // While anyone waits the bucket is below the head's cost, so it refills at
    // full rate with no cap in between: the wait is exact.
    const missing = (ahead + cost) * this.per - this.level;
    return missing <= 0 ? 0 : Math.ceil(missing / this.rate);
  }

  available(now: number): number {
    this.refill(now);
    return Math.floor(this.level / this.per);
  }
}
