import { checkClock, type Clock } from '../core/clock.js';
import type { ExecutionContext } from '../core/context.js';
import { ThrottledError, TimeoutError } from '../core/errors.js';
import { PolicyBase, type PolicyEvents, type PolicyHealth } from '../core/policy.js';
import { checkFunction, checkKeys, checkNumber, checkObject, checkString } from '../core/validate.js';
import { AcceptWindow } from './window.js';

/** Options of {@link throttle}. */
export interface ThrottleOptions {
  /**
   * How many requests per accepted one the client may send before it sheds
   * locally (a number ≥ 1). Default 2, the SRE book's choice: up to twice the
   * backend's accept rate still reaches it, so recovery is seen quickly.
   * Lower sheds earlier and harder; 1 sends only as many as get accepted.
   */
  k?: number;
  /** Length of the sliding window, in ms (12 buckets). Default 120 000 (2 minutes, as the SRE book). */
  window?: number;
  /**
   * Whether a failed call was still accepted by the backend, e.g. a 404 or a
   * validation error it answered: the backend is up, it said no. Default:
   * every error is a non-accept (the caller's own abort counts as nothing).
   */
  isAccepted?: (error: unknown) => boolean;
  /** Source of randomness in [0, 1). Default `Math.random`; inject a seeded one in tests. */
  random?: () => number;
  /** Where time is read. Default `systemClock`. */
  clock?: Clock;
  /** A name for telemetry and `health()`. Default `throttle`. */
  name?: string;
}

/** Events of a throttle. */
export interface ThrottleEvents extends PolicyEvents {
  /** A call was shed locally, with this rejection `probability` at its `priority`. */
  throttle: { readonly probability: number; readonly priority: number };
}

/** Live counts of a throttle. */
export interface ThrottleStats {
  /** Calls attempted in the window, local rejections included. */
  readonly requests: number;
  /** Calls the backend accepted in the window. */
  readonly accepts: number;
  /** Calls shed locally since the policy was created. */
  readonly rejected: number;
}

/** The option names `throttle` accepts (for config validation). */
export const THROTTLE_OPTIONS = ['k', 'window', 'isAccepted', 'random', 'clock', 'name'] as const;

const BUCKETS = 12;

/** Client-side adaptive throttling (Google SRE). Create it with `throttle()`. */
export class ThrottlePolicy extends PolicyBase<ThrottleEvents> {
  /** Requests per accept tolerated before shedding, at priority 0. */
  readonly k: number;
  /** The window, in ms. */
  readonly window: number;
  private readonly isAccepted: ((error: unknown) => boolean) | undefined;
  private readonly random: () => number;
  private readonly clock: Clock;
  private readonly counts: AcceptWindow;
  private rejected = 0;

  constructor(options: ThrottleOptions = {}) {
    const p = 'throttle';
    checkObject(p, 'options', options);
    checkKeys(p, options, THROTTLE_OPTIONS);
    super('throttle', checkString(p, 'name', options.name));
    this.k = checkNumber(p, 'k', options.k, { min: 1 }, 2);
    this.window = checkNumber(p, 'window', options.window, { min: 0, exclusiveMin: true }, 120_000);
    this.isAccepted = checkFunction(p, 'isAccepted', options.isAccepted);
    this.random = checkFunction<() => number>(p, 'random', options.random) ?? Math.random;
    this.clock = checkClock(p, options.clock);
    this.counts = new AcceptWindow(this.window, BUCKETS);
  }

  /**
   * The probability that a call at `priority` is shed now:
   * `max(0, (requests − kₚ·accepts) / (requests + 1))` with
   * `kₚ = 1 + (k − 1)·2^priority`. Priority 0 uses `k` itself; each step up
   * doubles the excess tolerated, each step down halves it (never below 1).
   */
  probability(priority = 0): number {
    this.counts.advance(this.clock.now());
    return this.rejectionProbability(priority);
  }

  /** Requests and accepts in the window, and calls shed so far. */
  get stats(): ThrottleStats {
    this.counts.advance(this.clock.now());
    return { requests: this.counts.requests, accepts: this.counts.accepts, rejected: this.rejected };
  }

  /** `degraded` while calls at priority 0 are being shed; never `down`, some calls always pass. */
  override _health(): PolicyHealth {
    this.counts.advance(this.clock.now());
    const probability = this.rejectionProbability(0);
    return {
      kind: this.kind,
      name: this.name,
      status: probability > 0 ? 'degraded' : 'ok',
      probability,
      requests: this.counts.requests,
      accepts: this.counts.accepts,
      rejected: this.rejected,
    };
  }

  override _enter(ctx: ExecutionContext): unknown {
    const counts = this.counts;
    counts.advance(this.clock.now());
    const probability = this.rejectionProbability(ctx.priority);
    // Local rejections count as requests too (SRE book): while the backend
    // stays down, the probability keeps rising towards 1.
    const counted = counts.request();
    if (probability > 0 && this.random() < probability) {
      this.rejected += 1;
      if (this.listening('throttle')) this.emit('throttle', { probability, priority: ctx.priority });
      throw new ThrottledError(
        `Request throttled locally (rejection probability ${probability.toFixed(3)}): the backend accepted ${counts.accepts} of ${counts.requests - 1} recent requests`,
      );
    }
    return counted;
  }

  override _success(ctx: ExecutionContext, token: unknown, value: unknown): unknown {
    this.counts.advance(this.clock.now());
    this.counts.accept();
    return super._success(ctx, token, value);
  }

  override _failure(ctx: ExecutionContext, token: unknown, error: unknown): unknown {
    if (this.callerAborted(ctx, error)) {
      // Neither accepted nor refused: take the request back.
      this.counts.advance(this.clock.now());
      this.counts.unrequest(token as number);
    } else if (this.isAccepted !== undefined && this.isAccepted(error) === true) {
      this.counts.advance(this.clock.now());
      this.counts.accept();
    }
    return super._failure(ctx, token, error);
  }

  /** A caller's abort (or a losing hedge) says nothing of the backend; a timeout does. */
  private callerAborted(ctx: ExecutionContext, error: unknown): boolean {
    return ctx.aborted && !(ctx.reason instanceof TimeoutError) && !(error instanceof TimeoutError);
  }

  private rejectionProbability(priority: number): number {
    const { requests, accepts } = this.counts;
    if (requests <= 0) return 0;
    // With nothing accepted, every priority sees the same probability; this
    // also keeps an infinite kₚ from turning into NaN.
    if (accepts <= 0) return requests / (requests + 1);
    // k = 1 means kₚ = 1 at every priority; the product would be 0·∞ = NaN at +∞.
    const kp = this.k === 1 ? 1 : 1 + (this.k - 1) * 2 ** (Number.isNaN(priority) ? 0 : priority);
    return Math.max(0, (requests - kp * accepts) / (requests + 1));
  }
}

/**
 * Client-side adaptive throttling from Google's SRE book: each call is shed
 * locally with probability `max(0, (requests − k·accepts) / (requests + 1))`
 * over the last `window` ms, so a client stops hammering a backend that
 * refuses most of its requests, and sends again as soon as it accepts them.
 * Calls with a lower `priority` (`execute(fn, { priority })`) are shed first.
 */
export function throttle(options?: ThrottleOptions): ThrottlePolicy {
  return new ThrottlePolicy(options);
}
