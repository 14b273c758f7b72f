import { checkClock, type Clock } from '../core/clock.js';
import type { ExecutionContext } from '../core/context.js';
import { BulkheadFullError } from '../core/errors.js';
import { PolicyBase, type PolicyEvents, type PolicyHealth } from '../core/policy.js';
import { checkKeys, checkNumber, checkObject, checkString } from '../core/validate.js';
import { type AdmissionRejection, AdmissionQueue } from './admission-queue.js';

/** Options of {@link bulkhead}. */
export interface BulkheadOptions {
  /** Most calls running at once (an integer ≥ 1). */
  limit: number;
  /**
   * Most calls waiting for a slot, in FIFO order (an integer ≥ 0, or
   * `Infinity`). Default 0: a call that finds every slot taken is rejected
   * at once, which is what load shedding wants.
   */
  queue?: number;
  /**
   * Longest a call may wait in the queue, in ms; then it is rejected with
   * `BulkheadFullError`. Default: no limit (the caller's signal or an outer
   * timeout still ends the wait).
   */
  queueTimeout?: number;
  /** Where time is read and the queue timer is scheduled. Default `systemClock`. */
  clock?: Clock;
  /** A name for telemetry and `health()`. Default `bulkhead`. */
  name?: string;
}

/** Live load of a bulkhead. */
export interface BulkheadStats {
  /** Calls holding a slot now (work still settling after an aggressive timeout included). */
  readonly running: number;
  /** Calls waiting in the queue now. */
  readonly queued: number;
  /** The configured `limit`. */
  readonly limit: number;
  /** The configured `queue` capacity. */
  readonly queue: number;
}

/** Events of a bulkhead. */
export interface BulkheadEvents extends PolicyEvents {
  /**
   * A call was rejected without running: every slot and queue place was taken
   * (`full`), or it waited `queueTimeout` ms in the queue (`queueTimeout`).
   */
  reject: { readonly reason: 'full' | 'queueTimeout'; readonly running: number; readonly queued: number };
  /** A call found every slot taken and joined the queue; `queued` counts it. */
  queued: { readonly queued: number };
}

/** The option names `bulkhead` accepts (for config validation). */
export const BULKHEAD_OPTIONS = ['limit', 'queue', 'queueTimeout', 'clock', 'name'] as const;

/**
 * The lingering work a context already had when a call took its slot (a
 * retry's earlier attempt): wrapped, because the executor would await a bare
 * promise returned by `_enter`.
 */
class Seen {
  constructor(readonly lingering: Promise<void>) {}
}

/** Limits how many calls run at once. Create it with `bulkhead()`. */
export class BulkheadPolicy extends PolicyBase<BulkheadEvents> {
  /** Most calls running at once. */
  readonly limit: number;
  /** Most calls waiting for a slot. */
  readonly queue: number;
  /** Longest wait in the queue, in ms (`Infinity`: no limit). */
  readonly queueTimeout: number;
  private readonly slots: AdmissionQueue;
  private rejected = 0;

  constructor(options: number | BulkheadOptions) {
    const p = 'bulkhead';
    const opts: BulkheadOptions = typeof options === 'number' ? { limit: options } : options;
    checkObject(p, 'options', opts);
    if (opts === undefined) throw new TypeError('bulkhead: expected a limit or { limit }, got undefined');
    checkKeys(p, opts, BULKHEAD_OPTIONS);
    super('bulkhead', checkString(p, 'name', opts.name));
    this.limit = checkNumber(p, 'limit', opts.limit, { min: 1, integer: true });
    this.queue = checkNumber(p, 'queue', opts.queue, { min: 0, integer: true, infinite: true }, 0);
    this.queueTimeout = checkNumber(
      p,
      'queueTimeout',
      opts.queueTimeout,
      { min: 0, exclusiveMin: true, infinite: true },
      Number.POSITIVE_INFINITY,
    );
    this.slots = new AdmissionQueue(checkClock(p, opts.clock), this.queue, this.queueTimeout, {
      limit: () => this.limit,
      admit: (ctx) => this.admit(ctx),
      reject: (reason) => this.reject(reason),
      queued: () => {
        if (this.listening('queued')) this.emit('queued', { queued: this.slots.size });
      },
    });
  }

  /** Live load: calls running and queued, and the configured sizes. */
  get stats(): BulkheadStats {
    return { running: this.slots.running, queued: this.slots.size, limit: this.limit, queue: this.queue };
  }

  /**
   * `ok` while a new call would run at once; `degraded` when every slot is
   * taken (new calls queue or are rejected). Never `down`: a bulkhead always
   * makes progress as running calls settle.
   */
  override _health(): PolicyHealth {
    return {
      kind: this.kind,
      name: this.name,
      status: this.slots.running >= this.limit ? 'degraded' : 'ok',
      running: this.slots.running,
      queued: this.slots.size,
      limit: this.limit,
      // JSON has no Infinity: an unbounded queue is reported as null.
      queue: Number.isFinite(this.queue) ? this.queue : null,
      rejected: this.rejected,
    };
  }

  /**
   * Takes a slot, or queues. The token marks the context's lingering work as
   * it was on entry (almost always none, so no token): the exit compares it
   * to see whether work inside outlived this call.
   */
  override _enter(ctx: ExecutionContext): unknown {
    return this.slots.running < this.limit ? this.admit(ctx) : this.slots.enqueue(ctx);
  }

  override _success(ctx: ExecutionContext, token: unknown, value: unknown): unknown {
    this.exit(ctx, token);
    return super._success(ctx, token, value);
  }

  override _failure(ctx: ExecutionContext, token: unknown, error: unknown): unknown {
    this.exit(ctx, token);
    return super._failure(ctx, token, error);
  }

  private exit(ctx: ExecutionContext, token: unknown): void {
    this.slots.release(ctx, (token as Seen | undefined)?.lingering);
    this.slots.drain();
  }

  private admit(ctx: ExecutionContext): unknown {
    this.slots.running += 1;
    return ctx.lingering === undefined ? undefined : new Seen(ctx.lingering);
  }

  private reject(reason: AdmissionRejection): BulkheadFullError {
    const { running, size } = this.slots;
    this.rejected += 1;
    if (this.listening('reject')) this.emit('reject', { reason, running, queued: size });
    return reason === 'full'
      ? new BulkheadFullError(
          `Bulkhead is full (${running} running, limit ${this.limit}; ${size} queued, queue ${this.queue}); rejected without calling`,
        )
      : new BulkheadFullError(
          `Bulkhead queue timeout: no slot within ${this.queueTimeout} ms (limit ${this.limit}); rejected without calling`,
        );
  }
}

/**
 * Limits concurrency: at most `limit` calls run at once, up to `queue` more
 * wait in FIFO order (each at most `queueTimeout` ms), and the rest are
 * rejected at once with `BulkheadFullError`. A slot is freed only when the
 * work has really settled, even if an aggressive timeout inside gave up on it.
 */
export function bulkhead(options: number | BulkheadOptions): BulkheadPolicy {
  return new BulkheadPolicy(options);
}
