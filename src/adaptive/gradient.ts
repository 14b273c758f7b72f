import { clamp, type LimitAlgorithm, type LimitBounds, type LimitChangeReason, Outcome } from './limit.js';

/** @internal */
export interface GradientSettings extends LimitBounds {
  /** How much slower than the baseline a window may be before the limit shrinks (≥ 1). */
  readonly tolerance: number;
  /** Weight of each new estimate, in (0, 1]. */
  readonly smoothing: number;
}

/** Fewest samples a window averages: fewer would make the short-term RTT mostly noise. */
const MIN_WINDOW = 10;
/** Lowest RTT the algorithm distinguishes, in ms: the default clock ticks in whole milliseconds. */
const MIN_RTT = 1;
/** A probe measures at this fraction of the concurrency that ran: low enough to drain a queue we caused. */
const PROBE_RATIO = 0.5;
/** Windows before the first probe, and again after a probe that moved the baseline. */
const PROBE_EVERY_MIN = 16;
/** Windows between probes once the baseline holds steady (doubling up to this). */
const PROBE_EVERY_MAX = 256;
/** A probe result this far (relative) from the baseline counts as a change. */
const PROBE_CHANGE = 0.1;
/** Windows in a row that measure queueing before a probe checks whether it is ours. */
const QUEUEING_PROBE = 20;
/** Pull of a clearly faster window on the baseline (an exponential moving average). */
const BASELINE_DRIFT = 0.1;

const Phase = { Steady: 0, Probing: 1 } as const;
type Phase = (typeof Phase)[keyof typeof Phase];

/**
 * A gradient limit in the style of Netflix's Gradient2: it compares a
 * short-term RTT (the mean of the last window of calls) with a long-term
 * baseline RTT and moves the limit by their ratio:
 *
 *     gradient = clamp(tolerance × baseline / shortRtt, 0.5, 1)
 *     target   = gradient < 1 ? limit × gradient          // queueing: shrink
 *                                 : limit + √limit          // headroom: grow (only when the limit binds)
 *     limit    = limit × (1 − smoothing) + target × smoothing
 *
 * It departs from Gradient2 where Gradient2 drifts (see docs/adaptive-concurrency.md):
 * headroom is added only when no queueing is measured, drops count as the
 * strongest gradient (0.5), one window spans about one round trip (`limit`
 * samples, at least 10), and the baseline is anchored by periodic probes,
 * which hold concurrency at half of what ran for one round of calls and take
 * their mean RTT as the new baseline; between probes the baseline only drifts down, towards
 * windows that are clearly faster. An average that may also drift up follows
 * the queue the limiter itself builds, and the limit creeps up with it.
 * @internal
 */
export class GradientLimit implements LimitAlgorithm {
  reason: LimitChangeReason = 'increase';
  private estimate: number;
  /** Long-term RTT with no queue of ours, ms; 0 until the first window. */
  private baseline = 0;
  private sum = 0;
  private count = 0;
  private bound = false;
  /** Most calls of ours running at once during the window. */
  private peak = 0;
  private lastDecreaseAt = Number.NEGATIVE_INFINITY;
  private queueingWindows = 0;
  private probeEvery = PROBE_EVERY_MIN;
  private windowsToProbe = PROBE_EVERY_MIN;
  private phase: Phase = Phase.Steady;
  private probeLimit = 0;
  /** Calls tagged for the probe: started, settled, and the samples among them. */
  private probeTarget = 0;
  private probeStarted = 0;
  private probeSettled = 0;
  private probeSum = 0;
  private probeSamples = 0;

  constructor(private readonly s: GradientSettings) {
    this.estimate = s.initialLimit;
  }

  get limit(): number {
    return this.phase === Phase.Probing ? this.probeLimit : Math.floor(this.estimate);
  }

  acquire(inflight: number): boolean {
    if (this.phase === Phase.Probing) {
      // Admission during a probe needs inflight < probeLimit, so every tagged
      // call starts with no more than probeLimit calls of ours running.
      if (this.probeStarted >= this.probeTarget) return false;
      this.probeStarted += 1;
      return true;
    }
    if (inflight > this.peak) this.peak = inflight;
    if (inflight >= this.estimate) this.bound = true;
    return false;
  }

  saturated(): void {
    if (this.phase === Phase.Steady) this.bound = true;
  }

  settle(outcome: Outcome, rtt: number, startedAt: number, now: number, probe: boolean): void {
    if (probe && this.phase === Phase.Probing) {
      this.probeSettled += 1;
      if (outcome === Outcome.Sample) {
        this.probeSum += rtt;
        this.probeSamples += 1;
      }
      if (this.probeSettled >= this.probeTarget) this.endProbe();
      if (outcome !== Outcome.Drop) return;
    }
    if (outcome === Outcome.Ignore) return;
    if (outcome === Outcome.Drop) {
      if (startedAt <= this.lastDecreaseAt) return;
      this.update(0.5, now);
      this.resetWindow();
      return;
    }
    // Untagged calls settling during a probe ran at the old concurrency.
    if (this.phase === Phase.Probing) return;
    this.sum += rtt;
    this.count += 1;
    if (this.count < MIN_WINDOW || this.count < Math.floor(this.estimate)) return;
    this.closeWindow(Math.max(MIN_RTT, this.sum / this.count), now);
  }

  details(): Record<string, unknown> {
    return { baselineRtt: this.baseline, probing: this.phase === Phase.Probing };
  }

  private closeWindow(shortRtt: number, now: number): void {
    if (this.baseline === 0) this.baseline = shortRtt;
    else if (shortRtt * this.s.tolerance < this.baseline) {
      this.baseline += (shortRtt - this.baseline) * BASELINE_DRIFT;
    }
    const gradient = clamp((this.s.tolerance * this.baseline) / shortRtt, 0.5, 1);
    if (gradient < 1) {
      this.queueingWindows += 1;
      this.update(gradient, now);
    } else {
      this.queueingWindows = 0;
      if (this.bound) this.update(1, now);
    }
    const peak = this.peak;
    this.resetWindow();
    this.windowsToProbe -= 1;
    if (this.windowsToProbe <= 0 || this.queueingWindows >= QUEUEING_PROBE) this.startProbe(peak);
  }

  /** Moves the estimate towards `limit × gradient` (plus headroom when nothing queues). */
  private update(gradient: number, now: number): void {
    const target = gradient < 1 ? this.estimate * gradient : this.estimate + Math.sqrt(this.estimate);
    const next = clamp(
      this.estimate * (1 - this.s.smoothing) + target * this.s.smoothing,
      this.s.minLimit,
      this.s.maxLimit,
    );
    if (next < this.estimate) {
      this.lastDecreaseAt = now;
      this.reason = 'decrease';
    } else {
      this.reason = 'increase';
    }
    this.estimate = next;
  }

  private resetWindow(): void {
    this.sum = 0;
    this.count = 0;
    this.bound = false;
    this.peak = 0;
  }

  /** Holds concurrency at half of what actually ran (`peak`), which may be well under the limit. */
  private startProbe(peak: number): void {
    this.phase = Phase.Probing;
    this.reason = 'probe';
    const concurrency = Math.min(this.estimate, Math.max(peak, 1));
    this.probeLimit = Math.max(this.s.minLimit, Math.ceil(concurrency * PROBE_RATIO));
    this.probeTarget = Math.max(MIN_WINDOW, this.probeLimit);
    this.probeStarted = 0;
    this.probeSettled = 0;
    this.probeSum = 0;
    this.probeSamples = 0;
    this.queueingWindows = 0;
  }

  private endProbe(): void {
    if (this.probeSamples > 0) {
      const measured = Math.max(MIN_RTT, this.probeSum / this.probeSamples);
      const moved = Math.abs(measured - this.baseline) > this.baseline * PROBE_CHANGE;
      this.baseline = measured;
      this.probeEvery = moved ? PROBE_EVERY_MIN : Math.min(PROBE_EVERY_MAX, this.probeEvery * 2);
    }
    this.windowsToProbe = this.probeEvery;
    this.phase = Phase.Steady;
    this.reason = 'probeEnd';
    this.resetWindow();
  }
}
