import { checkClock, type Clock } from '../core/clock.js';
import type { ExecutionContext } from '../core/context.js';
import { BulkheadFullError, RateLimitedError, ThrottledError, TimeoutError } from '../core/errors.js';
import { PolicyBase, type PolicyEvents, type PolicyHealth } from '../core/policy.js';
import {
  checkFunction,
  checkKeys,
  checkNumber,
  checkObject,
  checkOneOf,
  checkString,
  show,
} from '../core/validate.js';
import { type AdmissionRejection, AdmissionQueue } from '../bulkhead/admission-queue.js';
import { AimdLimit } from './aimd.js';
import { GradientLimit } from './gradient.js';
import { type LimitAlgorithm, type LimitChangeReason, Outcome } from './limit.js';

export type { LimitChangeReason } from './limit.js';

/** The limit algorithms `adaptiveConcurrency` offers. */
export type AdaptiveAlgorithm = 'aimd' | 'gradient';

/** Options of {@link adaptiveConcurrency}. */
export interface AdaptiveConcurrencyOptions {
  /**
   * `gradient` (default): moves the limit by the ratio of a baseline RTT to
   * the recent RTT; needs no threshold. `aimd`: +1 per round trip while
   * calls are fine, ×`backoffRatio` on a drop or a call slower than
   * `latencyThreshold`.
   */
  algorithm?: AdaptiveAlgorithm;
  /** The limit before any measurement (an integer in [minLimit, maxLimit]). Default 20, clamped to the bounds. */
  initialLimit?: number;
  /** The limit never goes below this (an integer ≥ 1). Default 1. */
  minLimit?: number;
  /** The limit never goes above this (an integer ≥ minLimit). Default 200 (or minLimit, if larger). */
  maxLimit?: number;
  /** Most calls waiting for a slot, FIFO (an integer ≥ 0, or `Infinity`). Default 0: reject at once. */
  queue?: number;
  /** Longest wait in the queue, in ms; then `BulkheadFullError`. Default: no limit. */
  queueTimeout?: number;
  /**
   * Errors that mean "overloaded", besides the built-in ones (`TimeoutError`,
   * and `BulkheadFullError`, `RateLimitedError`, `ThrottledError` raised
   * inside): e.g. an HTTP 503 or 429. Other errors leave the limit alone.
   */
  isDrop?: (error: unknown) => boolean;
  /** `aimd` only: the multiplier applied on overload, in [0.5, 1). Default 0.9. */
  backoffRatio?: number;
  /** `aimd` only: a success slower than this many ms counts as overload. Default: none (only drops count). */
  latencyThreshold?: number;
  /**
   * `gradient` only: how much slower than the baseline RTT the recent RTT may
   * be before the limit shrinks (a number in [1, 10]). Default 1.25: a 25 %
   * latency rise is tolerated, which keeps noise from shrinking the limit.
   */
  tolerance?: number;
  /** `gradient` only: weight of each new estimate, in (0, 1]. Default 0.2. */
  smoothing?: number;
  /** Where time is read (RTTs, queue timeout). Default `systemClock`. */
  clock?: Clock;
  /** A name for telemetry and `health()`. Default `adaptiveConcurrency`. */
  name?: string;
}

/** Events of an adaptive concurrency limit. */
export interface AdaptiveConcurrencyEvents extends PolicyEvents {
  /** The limit moved from `from` to `to`. */
  limitChanged: { readonly from: number; readonly to: number; readonly reason: LimitChangeReason };
  /**
   * A call was rejected without running: the limit and the queue were full
   * (`full`), or it waited `queueTimeout` ms in the queue (`queueTimeout`).
   */
  reject: {
    readonly reason: 'full' | 'queueTimeout';
    readonly limit: number;
    readonly inflight: number;
    readonly queued: number;
  };
  /** A call found the limit reached and joined the queue; `queued` counts it. */
  queued: { readonly queued: number };
}

/** The option names `adaptiveConcurrency` accepts (for config validation). */
export const ADAPTIVE_CONCURRENCY_OPTIONS = [
  'algorithm',
  'initialLimit',
  'minLimit',
  'maxLimit',
  'queue',
  'queueTimeout',
  'isDrop',
  'backoffRatio',
  'latencyThreshold',
  'tolerance',
  'smoothing',
  'clock',
  'name',
] as const;

const ONLY: Record<string, AdaptiveAlgorithm> = {
  backoffRatio: 'aimd',
  latencyThreshold: 'aimd',
  tolerance: 'gradient',
  smoothing: 'gradient',
};

/**
 * A call's slot, when a number (its start time) is not enough: the call is
 * part of a probe, or the context already had lingering work on entry (a
 * retry's earlier attempt), which is not this call's to wait for.
 */
class Ticket {
  constructor(
    readonly startedAt: number,
    readonly probe: boolean,
    readonly lingering: Promise<void> | undefined,
  ) {}
}

/** A concurrency limit that follows measured latency. Create it with `adaptiveConcurrency()`. */
export class AdaptiveConcurrencyPolicy extends PolicyBase<AdaptiveConcurrencyEvents> {
  /** The algorithm moving the limit. */
  readonly algorithm: AdaptiveAlgorithm;
  /** Lowest limit. */
  readonly minLimit: number;
  /** Highest limit. */
  readonly maxLimit: number;
  /** Most calls waiting for a slot. */
  readonly queue: number;
  /** Longest wait in the queue, in ms (`Infinity`: no limit). */
  readonly queueTimeout: number;
  private readonly algo: LimitAlgorithm;
  private readonly isDrop: ((error: unknown) => boolean) | undefined;
  private readonly clock: Clock;
  private readonly slots: AdmissionQueue;
  private rejected = 0;

  constructor(options: AdaptiveConcurrencyOptions = {}) {
    const p = 'adaptiveConcurrency';
    checkObject(p, 'options', options);
    checkKeys(p, options, ADAPTIVE_CONCURRENCY_OPTIONS);
    super('adaptiveConcurrency', checkString(p, 'name', options.name));
    const algorithm = checkOneOf(p, 'algorithm', options.algorithm, ['aimd', 'gradient'], 'gradient');
    for (const [option, owner] of Object.entries(ONLY)) {
      if (owner !== algorithm && (options as Record<string, unknown>)[option] !== undefined) {
        throw new TypeError(
          `${p}: ${option} applies only to algorithm ${JSON.stringify(owner)}, got algorithm ${show(algorithm)}`,
        );
      }
    }
    this.algorithm = algorithm;
    this.minLimit = checkNumber(p, 'minLimit', options.minLimit, { min: 1, integer: true }, 1);
    this.maxLimit = checkNumber(
      p,
      'maxLimit',
      options.maxLimit,
      { min: this.minLimit, integer: true },
      Math.max(200, this.minLimit),
    );
    const initialLimit = checkNumber(
      p,
      'initialLimit',
      options.initialLimit,
      { min: this.minLimit, max: this.maxLimit, integer: true },
      Math.min(Math.max(20, this.minLimit), this.maxLimit),
    );
    this.queue = checkNumber(p, 'queue', options.queue, { min: 0, integer: true, infinite: true }, 0);
    this.queueTimeout = checkNumber(
      p,
      'queueTimeout',
      options.queueTimeout,
      { min: 0, exclusiveMin: true, infinite: true },
      Number.POSITIVE_INFINITY,
    );
    this.isDrop = checkFunction(p, 'isDrop', options.isDrop);
    this.clock = checkClock(p, options.clock);
    const bounds = { initialLimit, minLimit: this.minLimit, maxLimit: this.maxLimit };
    if (algorithm === 'aimd') {
      const backoffRatio = checkNumber(p, 'backoffRatio', options.backoffRatio, { min: 0.5, max: 1 }, 0.9);
      if (backoffRatio === 1) {
        throw new RangeError(`${p}: backoffRatio must be a number ≥ 0.5 and < 1, got 1`);
      }
      const latencyThreshold = checkNumber(
        p,
        'latencyThreshold',
        options.latencyThreshold,
        { min: 0, exclusiveMin: true, infinite: true },
        Number.POSITIVE_INFINITY,
      );
      this.algo = new AimdLimit({ ...bounds, backoffRatio, latencyThreshold });
    } else {
      const tolerance = checkNumber(p, 'tolerance', options.tolerance, { min: 1, max: 10 }, 1.25);
      const smoothing = checkNumber(
        p,
        'smoothing',
        options.smoothing,
        { min: 0, exclusiveMin: true, max: 1 },
        0.2,
      );
      this.algo = new GradientLimit({ ...bounds, tolerance, smoothing });
    }
    this.slots = new AdmissionQueue(this.clock, this.queue, this.queueTimeout, {
      limit: () => this.algo.limit,
      admit: (ctx) => this.admit(ctx),
      reject: (reason) => this.reject(reason),
      queued: () => {
        if (this.listening('queued')) this.emit('queued', { queued: this.slots.size });
      },
    });
  }

  /** The current concurrency limit. */
  get limit(): number {
    return this.algo.limit;
  }

  /** Calls holding a slot now (work still settling after an aggressive timeout included). */
  get inflight(): number {
    return this.slots.running;
  }

  /** Calls waiting in the queue now. */
  get queued(): number {
    return this.slots.size;
  }

  /**
   * `ok` while a new call would run at once; `degraded` when the limit is
   * reached (new calls queue or are rejected). Never `down`: slots free up as
   * running calls settle, and the limit never drops below `minLimit`.
   */
  override _health(): PolicyHealth {
    const limit = this.algo.limit;
    return {
      kind: this.kind,
      name: this.name,
      status: this.slots.running >= limit ? 'degraded' : 'ok',
      algorithm: this.algorithm,
      limit,
      inflight: this.slots.running,
      queued: this.slots.size,
      minLimit: this.minLimit,
      maxLimit: this.maxLimit,
      // JSON has no Infinity: an unbounded queue is reported as null.
      queue: Number.isFinite(this.queue) ? this.queue : null,
      rejected: this.rejected,
      ...this.algo.details(),
    };
  }

  override _enter(ctx: ExecutionContext): unknown {
    if (this.slots.running < this.algo.limit && this.slots.size === 0) return this.admit(ctx);
    this.algo.saturated();
    return this.slots.enqueue(ctx);
  }

  override _success(ctx: ExecutionContext, token: unknown, value: unknown): unknown {
    this.exit(ctx, token, Outcome.Sample);
    return super._success(ctx, token, value);
  }

  override _failure(ctx: ExecutionContext, token: unknown, error: unknown): unknown {
    let outcome: Outcome = Outcome.Ignore;
    try {
      outcome = this.classify(ctx, error);
    } finally {
      // A throwing isDrop fails the call with its error, but the slot is freed all the same.
      this.exit(ctx, token, outcome);
    }
    return super._failure(ctx, token, error);
  }

  /** Takes a slot; the token is the start time, or a Ticket when a number cannot say enough. */
  private admit(ctx: ExecutionContext): unknown {
    this.slots.running += 1;
    const now = this.clock.now();
    const probe = this.algo.acquire(this.slots.running);
    return probe || ctx.lingering !== undefined ? new Ticket(now, probe, ctx.lingering) : now;
  }

  private classify(ctx: ExecutionContext, error: unknown): Outcome {
    if (error instanceof TimeoutError) return Outcome.Drop;
    // The caller's abort, or a hedge that lost: nothing learned about the
    // dependency, unless it was an enclosing timeout that aborted.
    if (ctx.aborted) return ctx.reason instanceof TimeoutError ? Outcome.Drop : Outcome.Ignore;
    if (
      error instanceof BulkheadFullError ||
      error instanceof RateLimitedError ||
      error instanceof ThrottledError
    ) {
      return Outcome.Drop;
    }
    return this.isDrop !== undefined && this.isDrop(error) === true ? Outcome.Drop : Outcome.Ignore;
  }

  private exit(ctx: ExecutionContext, token: unknown, outcome: Outcome): void {
    const now = this.clock.now();
    let startedAt: number;
    let probe = false;
    let seen: Promise<void> | undefined;
    if (typeof token === 'number') {
      startedAt = token;
    } else {
      const ticket = token as Ticket;
      startedAt = ticket.startedAt;
      probe = ticket.probe;
      seen = ticket.lingering;
    }
    const from = this.algo.limit;
    this.algo.settle(outcome, now - startedAt, startedAt, now, probe);
    this.slots.release(ctx, seen);
    this.limitMoved(from);
  }

  /** Emits `limitChanged` when the limit moved, and lets waiters in for every free slot. */
  private limitMoved(from: number): void {
    const to = this.algo.limit;
    if (to !== from && this.listening('limitChanged')) {
      this.emit('limitChanged', { from, to, reason: this.algo.reason });
    }
    this.slots.drain();
  }

  private reject(reason: AdmissionRejection): BulkheadFullError {
    const { running, size } = this.slots;
    this.rejected += 1;
    const limit = this.algo.limit;
    if (this.listening('reject')) this.emit('reject', { reason, limit, inflight: running, queued: size });
    return reason === 'full'
      ? new BulkheadFullError(
          `Concurrency limit reached (${running} running, limit ${limit}; ${size} queued, queue ${this.queue}); rejected without calling`,
        )
      : new BulkheadFullError(
          `Concurrency queue timeout: no slot within ${this.queueTimeout} ms (limit ${limit}); rejected without calling`,
        );
  }
}

/**
 * A concurrency limit that tunes itself, as Netflix's concurrency-limits:
 * the limit rises while latency stays flat and falls when latency grows or
 * calls time out, so it settles near what the dependency can serve. Calls
 * over the limit wait in an optional FIFO queue or are rejected at once with
 * `BulkheadFullError`. A slot is freed only when the work has really settled.
 */
export function adaptiveConcurrency(options?: AdaptiveConcurrencyOptions): AdaptiveConcurrencyPolicy {
  return new AdaptiveConcurrencyPolicy(options);
}
