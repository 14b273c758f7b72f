import { clamp, type LimitAlgorithm, type LimitBounds, type LimitChangeReason, Outcome } from './limit.js';

/** @internal */
export interface AimdSettings extends LimitBounds {
  /** Multiplier applied on overload, in [0.5, 1). */
  readonly backoffRatio: number;
  /** A success slower than this (ms) counts as overload. */
  readonly latencyThreshold: number;
}

/**
 * Additive increase, multiplicative decrease, as TCP congestion avoidance:
 * +1 per window of `limit` successes (about one round trip of calls), but
 * only when the limit was reached during that window, so an idle or lightly
 * used limit never grows without evidence; ×`backoffRatio` on a drop or a
 * too-slow call, once per congestion event.
 * @internal
 */
export class AimdLimit implements LimitAlgorithm {
  reason: LimitChangeReason = 'increase';
  private estimate: number;
  private successes = 0;
  private bound = false;
  /**
   * When the limit last went down. Calls that started by then ran under the
   * old limit: their drops belong to the congestion already acted on, so a
   * burst of timeouts shrinks the limit once, not once per call.
   */
  private lastDecreaseAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly s: AimdSettings) {
    this.estimate = s.initialLimit;
  }

  get limit(): number {
    return Math.floor(this.estimate);
  }

  acquire(inflight: number): boolean {
    if (inflight >= this.estimate) this.bound = true;
    return false;
  }

  saturated(): void {
    this.bound = true;
  }

  settle(outcome: Outcome, rtt: number, startedAt: number, now: number): void {
    if (outcome === Outcome.Ignore) return;
    if (outcome === Outcome.Drop || rtt > this.s.latencyThreshold) {
      if (startedAt <= this.lastDecreaseAt) return;
      this.lastDecreaseAt = now;
      this.estimate = Math.max(this.s.minLimit, this.estimate * this.s.backoffRatio);
      this.reason = 'decrease';
      this.successes = 0;
      this.bound = false;
      return;
    }
    this.successes += 1;
    if (this.successes < Math.floor(this.estimate)) return;
    if (this.bound) {
      this.estimate = clamp(this.estimate + 1, this.s.minLimit, this.s.maxLimit);
      this.reason = 'increase';
    }
    this.successes = 0;
    this.bound = false;
  }

  details(): Record<string, unknown> {
    return {};
  }
}
