import { checkClock, type Clock, type TimerHandle } from '../core/clock.js';
import type { ExecutionContext } from '../core/context.js';
import { BulkheadFullError } from '../core/errors.js';
import { PolicyBase, type PolicyEvents, type PolicyHealth } from '../core/policy.js';
import { checkKeys, checkNumber, checkObject, checkString } from '../core/validate.js';
import { type WaitNode, WaitList } from './wait-list.js';

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

/** A call waiting for a slot; it is its own list node. */
class Waiter implements WaitNode<Waiter> {
  prev: Waiter | undefined = undefined;
  next: Waiter | undefined = undefined;
  queued = false;
  deadline = 0;
  removeAbortListener: () => void = noop;

  constructor(
    readonly ctx: ExecutionContext,
    readonly resolve: (token: unknown) => void,
    readonly reject: (error: unknown) => void,
  ) {}
}

/** Limits how many calls run at once. Create it with `bulkhead()`. */
export class BulkheadPolicy extends PolicyBase<BulkheadEvents> {
  /** Most calls running at once. */
  readonly limit: number;
  /** Most calls waiting for a slot. */
  readonly queue: number;
  /** Longest wait in the queue, in ms (`Infinity`: no limit). */
  readonly queueTimeout: number;
  private readonly clock: Clock;
  private running = 0;
  private rejected = 0;
  private readonly waiting = new WaitList<Waiter>();
  /** One timer, armed for the queue's head: all waits are equally long, so the head expires first. */
  private timer: TimerHandle | undefined = undefined;
  private timerAt = 0;

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
    this.clock = checkClock(p, opts.clock);
  }

  /** Live load: calls running and queued, and the configured sizes. */
  get stats(): BulkheadStats {
    return { running: this.running, queued: this.waiting.size, limit: this.limit, queue: this.queue };
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
      status: this.running >= this.limit ? 'degraded' : 'ok',
      running: this.running,
      queued: this.waiting.size,
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
    if (this.running < this.limit) {
      this.running += 1;
      return ctx.lingering === undefined ? undefined : new Seen(ctx.lingering);
    }
    return this.enqueue(ctx);
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
    const lingering = ctx.lingering;
    // An aggressive timeout or a losing hedge inside stopped waiting for work
    // that still runs: the slot stays taken until that work has settled.
    if (lingering === undefined || lingering === (token as Seen | undefined)?.lingering) this.release();
    else void lingering.then(this.releaseLater);
  }

  private readonly releaseLater = (): void => this.release();

  /** Frees a slot by handing it straight to the queue's head, so no newcomer can jump the queue. */
  private release(): void {
    const next = this.waiting.head;
    if (next === undefined) {
      this.running -= 1;
      return;
    }
    this.waiting.remove(next);
    this.dequeued(next);
    const lingering = next.ctx.lingering;
    next.resolve(lingering === undefined ? undefined : new Seen(lingering));
  }

  private enqueue(ctx: ExecutionContext): Promise<unknown> {
    if (ctx.aborted) return Promise.reject(ctx.reason);
    if (this.waiting.size >= this.queue) throw this.reject('full');
    return new Promise((resolve, reject) => {
      const waiter = new Waiter(ctx, resolve, reject);
      this.waiting.push(waiter);
      if (this.queueTimeout !== Number.POSITIVE_INFINITY) {
        waiter.deadline = this.clock.now() + this.queueTimeout;
        if (this.timer === undefined) this.arm(waiter.deadline);
      }
      waiter.removeAbortListener = ctx.onAbort((reason) => {
        if (!this.waiting.remove(waiter)) return;
        this.dequeued(waiter);
        reject(reason);
      });
      if (this.listening('queued')) this.emit('queued', { queued: this.waiting.size });
    });
  }

  /** Bookkeeping for a waiter that just left the queue, whichever way. */
  private dequeued(waiter: Waiter): void {
    waiter.removeAbortListener();
    // No timer while nobody waits: an idle bulkhead holds no handle.
    if (this.waiting.size === 0 && this.timer !== undefined) {
      this.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  private reject(reason: 'full' | 'queueTimeout'): BulkheadFullError {
    this.rejected += 1;
    if (this.listening('reject')) {
      this.emit('reject', { reason, running: this.running, queued: this.waiting.size });
    }
    return reason === 'full'
      ? new BulkheadFullError(
          `Bulkhead is full (${this.running} running, limit ${this.limit}; ${this.waiting.size} queued, queue ${this.queue}); rejected without calling`,
        )
      : new BulkheadFullError(
          `Bulkhead queue timeout: no slot within ${this.queueTimeout} ms (limit ${this.limit}); rejected without calling`,
        );
  }

  private arm(deadline: number): void {
    this.timerAt = deadline;
    this.timer = this.clock.setTimeout(this.expire, Math.max(0, deadline - this.clock.now()));
  }

  private readonly expire = (): void => {
    this.timer = undefined;
    // Timers may fire a little early on some platforms; trust the deadline we armed for.
    const horizon = Math.max(this.clock.now(), this.timerAt);
    let head = this.waiting.head;
    while (head !== undefined && head.deadline <= horizon) {
      this.waiting.remove(head);
      this.dequeued(head);
      head.reject(this.reject('queueTimeout'));
      head = this.waiting.head;
    }
    if (head !== undefined && this.timer === undefined) this.arm(head.deadline);
  };
}

function noop(): void {}

/**
 * Limits concurrency: at most `limit` calls run at once, up to `queue` more
 * wait in FIFO order (each at most `queueTimeout` ms), and the rest are
 * rejected at once with `BulkheadFullError`. A slot is freed only when the
 * work has really settled, even if an aggressive timeout inside gave up on it.
 */
export function bulkhead(options: number | BulkheadOptions): BulkheadPolicy {
  return new BulkheadPolicy(options);
}
