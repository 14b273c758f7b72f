import { type WaitNode, WaitList } from '../bulkhead/wait-list.js';
import { checkClock, type Clock, type TimerHandle } from '../core/clock.js';
import type { Context, ExecutionContext } from '../core/context.js';
import { RateLimitedError } from '../core/errors.js';
import { PolicyBase, type PolicyEvents, type PolicyHealth } from '../core/policy.js';
import { checkKeys, checkNumber, checkObject, checkOneOf, checkString, show } from '../core/validate.js';
import type { Limiter } from './limiter.js';
import { SlidingWindow } from './sliding-window.js';
import { TokenBucket } from './token-bucket.js';

/** What a rate limiter does with a call that has no permit: reject it at once, or let it wait its turn. */
export type RateLimitMode = 'reject' | 'wait';

/** Options every rate limiter accepts. */
export interface RateLimitCommonOptions {
  /**
   * `reject` (default): a call without a permit fails at once with
   * `RateLimitedError` carrying `retryAfter`. `wait`: it waits, FIFO, until
   * its permit is due.
   */
  mode?: RateLimitMode;
  /**
   * `wait` mode only: a call whose permit is due later than this many ms is
   * rejected at once with `RateLimitedError` instead of waiting. Default
   * `Infinity` (the caller's signal or an outer timeout bounds the wait).
   */
  maxWait?: number;
  /**
   * Permits a call takes: a number, or a function of the call's context
   * (e.g. of `ctx.key`). An integer ≥ 1, at most the burst or limit. Default 1.
   */
  cost?: number | ((ctx: Context) => number);
  /** Where time is read and the wait timer is scheduled. Default `systemClock`. */
  clock?: Clock;
  /** A name for telemetry and `health()`. Default `rateLimit`. */
  name?: string;
}

/** A token bucket: `rate` permits per `per` ms, up to `burst` saved up. */
export interface TokenBucketOptions extends RateLimitCommonOptions {
  /** Selects the token bucket. */
  type: 'tokenBucket';
  /** Permits added per `per` ms (need not be an integer). */
  rate: number;
  /** The period of `rate`, in ms. Default 1000 (`rate` per second). */
  per?: number;
  /** Bucket size: most permits usable at once after a quiet spell. Default `rate` (at least 1). */
  burst?: number;
}

/** An exact sliding window: at most `limit` permits in any `window` ms. */
export interface SlidingWindowOptions extends RateLimitCommonOptions {
  /** Selects the sliding window. */
  type: 'slidingWindow';
  /** Most permits in any window (an integer from 1 to 1 000 000). */
  limit: number;
  /** The window's length, in ms. */
  window: number;
}

/** Options of {@link rateLimit}. */
export type RateLimitOptions = TokenBucketOptions | SlidingWindowOptions;

/** Live state of a rate limiter. */
export interface RateLimitStats {
  /** Whole permits a call could take now (0 while calls wait). */
  readonly available: number;
  /** Most permits at once: the bucket's `burst` or the window's `limit`. */
  readonly limit: number;
  /** Calls waiting for their permit (`wait` mode). */
  readonly waiting: number;
}

/** Events of a rate limiter. */
export interface RateLimitEvents extends PolicyEvents {
  /**
   * A call was rejected without running: no permit now (`limit`), or in
   * `wait` mode its permit was due later than `maxWait` (`maxWait`).
   */
  reject: { readonly retryAfter: number; readonly reason: 'limit' | 'maxWait' };
  /** A call (`wait` mode) starts waiting `delay` ms for its permit. */
  wait: { readonly delay: number };
}

/**
 * The option names `rateLimit` accepts, per `type` (for config validation). Spelled out rather than
 * spread from a shared list: a bundler must keep a spread (it runs an iterator) in every bundle that
 * imports anything from the chunk holding it.
 */
export const RATE_LIMIT_OPTIONS = {
  tokenBucket: ['type', 'mode', 'maxWait', 'cost', 'clock', 'name', 'rate', 'per', 'burst'],
  slidingWindow: ['type', 'mode', 'maxWait', 'cost', 'clock', 'name', 'limit', 'window'],
} as const;

/** Largest sliding-window `limit`: 8 MB of timestamps. */
const MAX_WINDOW_LIMIT = 1_000_000;

/** A call waiting for its permit; it is its own list node. */
class Waiter implements WaitNode<Waiter> {
  prev: Waiter | undefined = undefined;
  next: Waiter | undefined = undefined;
  queued = false;
  removeAbortListener: () => void = noop;

  constructor(
    readonly cost: number,
    readonly resolve: (token: undefined) => void,
    readonly reject: (error: unknown) => void,
  ) {}
}

/** Limits the rate of calls. Create it with `rateLimit()`. */
export class RateLimitPolicy extends PolicyBase<RateLimitEvents> {
  /** The algorithm. */
  readonly type: 'tokenBucket' | 'slidingWindow';
  /** What happens to a call without a permit. */
  readonly mode: RateLimitMode;
  /** `wait` mode: longest wait accepted, in ms. */
  readonly maxWait: number;
  private readonly limiter: Limiter;
  private readonly cost: number;
  private readonly costOf: ((ctx: Context) => number) | undefined;
  private readonly clock: Clock;
  private rejected = 0;
  /** FIFO of waiting calls; their permits are promised in order, so a newcomer never overtakes them. */
  private readonly waiting = new WaitList<Waiter>();
  /** Permits the waiting calls need in all. */
  private queuedCost = 0;
  /** Armed for the head's permit whenever someone waits, and only then. */
  private timer: TimerHandle | undefined = undefined;

  constructor(options: RateLimitOptions) {
    const p = 'rateLimit';
    checkObject(p, 'options', options);
    if (options === undefined) {
      throw new TypeError("rateLimit: options are required, e.g. { type: 'tokenBucket', rate: 10 }");
    }
    const type = checkOneOf(p, 'type', options.type, ['tokenBucket', 'slidingWindow']);
    checkKeys(p, options, RATE_LIMIT_OPTIONS[type]);
    super('rateLimit', checkString(p, 'name', options.name));
    this.type = type;
    if (options.type === 'tokenBucket') {
      const rate = checkNumber(p, 'rate', options.rate, { min: 0, exclusiveMin: true });
      const per = checkNumber(p, 'per', options.per, { min: 0, exclusiveMin: true }, 1000);
      const burst = checkNumber(p, 'burst', options.burst, { min: 1 }, Math.max(1, rate));
      this.limiter = new TokenBucket(rate, per, burst);
    } else {
      const limit = checkNumber(p, 'limit', options.limit, { min: 1, integer: true });
      // The window keeps one timestamp per permit, allocated up front: cap it.
      if (limit > MAX_WINDOW_LIMIT) {
        throw new RangeError(
          `rateLimit: limit must be at most ${MAX_WINDOW_LIMIT} (one timestamp is kept per permit), got ${limit}`,
        );
      }
      const window = checkNumber(p, 'window', options.window, { min: 0, exclusiveMin: true });
      this.limiter = new SlidingWindow(limit, window);
    }
    this.mode = checkOneOf(p, 'mode', options.mode, ['reject', 'wait'], 'reject');
    if (options.maxWait !== undefined && this.mode !== 'wait') {
      throw new TypeError(`rateLimit: maxWait applies only to mode 'wait', got mode ${show(this.mode)}`);
    }
    this.maxWait = checkNumber(
      p,
      'maxWait',
      options.maxWait,
      { min: 0, infinite: true },
      Number.POSITIVE_INFINITY,
    );
    if (typeof options.cost === 'function') {
      this.costOf = options.cost;
      this.cost = 1;
    } else {
      this.costOf = undefined;
      this.cost = this.checkCost('cost', options.cost, 1);
    }
    this.clock = checkClock(p, options.clock);
  }

  /** Live state: permits available now, the limit, calls waiting. */
  get stats(): RateLimitStats {
    return {
      available: this.waiting.size > 0 ? 0 : this.limiter.available(this.clock.now()),
      limit: this.limiter.capacity,
      waiting: this.waiting.size,
    };
  }

  /**
   * `ok` while a call would get its permit at once; `degraded` while calls
   * wait or would be rejected. Never `down`: permits always come back with time.
   */
  override _health(): PolicyHealth {
    const { available, limit, waiting } = this.stats;
    return {
      kind: this.kind,
      name: this.name,
      status: available >= this.cost ? 'ok' : 'degraded',
      type: this.type,
      mode: this.mode,
      available,
      limit,
      waiting,
      rejected: this.rejected,
    };
  }

  override _enter(ctx: ExecutionContext): unknown {
    const cost = this.costOf === undefined ? this.cost : this.checkCost('cost()', this.costOf(ctx));
    const now = this.clock.now();
    if (this.waiting.head === undefined) {
      const wait = this.limiter.tryTake(now, cost);
      if (wait === 0) return undefined;
      if (this.mode === 'reject') throw this.reject(wait, 'limit');
      return this.enqueue(ctx, cost, wait);
    }
    return this.enqueue(ctx, cost, this.limiter.waitFor(now, this.queuedCost, cost));
  }

  private checkCost(option: string, value: unknown, defaultValue?: number): number {
    return checkNumber(
      'rateLimit',
      option,
      value,
      { min: 1, max: this.limiter.capacity, integer: true },
      defaultValue,
    );
  }

  private enqueue(ctx: ExecutionContext, cost: number, delay: number): Promise<undefined> {
    if (ctx.aborted) return Promise.reject(ctx.reason);
    if (delay > this.maxWait) throw this.reject(delay, 'maxWait');
    if (this.listening('wait')) this.emit('wait', { delay });
    return new Promise((resolve, reject) => {
      const waiter = new Waiter(cost, resolve, reject);
      this.waiting.push(waiter);
      this.queuedCost += cost;
      if (this.timer === undefined) this.timer = this.clock.setTimeout(this.drain, delay);
      waiter.removeAbortListener = ctx.onAbort((reason) => this.abandon(waiter, reason));
    });
  }

  /** A waiting call's signal aborted: it leaves at once, and the calls behind it move up. */
  private abandon(waiter: Waiter, reason: unknown): void {
    const wasHead = this.waiting.head === waiter;
    if (!this.waiting.remove(waiter)) return;
    this.queuedCost -= waiter.cost;
    waiter.removeAbortListener();
    waiter.reject(reason);
    if (wasHead) {
      this.clock.clearTimeout(this.timer);
      this.drain();
    }
  }

  /** Admits waiters from the head while permits allow, then re-arms for the next head. */
  private readonly drain = (): void => {
    this.timer = undefined;
    const now = this.clock.now();
    for (let head = this.waiting.head; head !== undefined; head = this.waiting.head) {
      const wait = this.limiter.tryTake(now, head.cost);
      if (wait > 0) {
        this.timer = this.clock.setTimeout(this.drain, wait);
        return;
      }
      this.waiting.remove(head);
      this.queuedCost -= head.cost;
      head.removeAbortListener();
      head.resolve(undefined);
    }
  };

  private reject(retryAfter: number, reason: 'limit' | 'maxWait'): RateLimitedError {
    this.rejected += 1;
    if (this.listening('reject')) this.emit('reject', { retryAfter, reason });
    return reason === 'limit'
      ? new RateLimitedError(retryAfter)
      : new RateLimitedError(
          retryAfter,
          `Rate limit exceeded; a permit is due in ${retryAfter} ms, more than maxWait ${this.maxWait} ms`,
        );
  }
}

function noop(): void {}

/**
 * Limits the rate of calls with a token bucket
 * (`{ type: 'tokenBucket', rate, per, burst }`) or an exact sliding window
 * (`{ type: 'slidingWindow', limit, window }`). Without a permit a call is
 * rejected with `RateLimitedError` carrying `retryAfter` (`mode: 'reject'`,
 * the default) or waits its turn in FIFO order (`mode: 'wait'`, bounded by
 * `maxWait` and the caller's signal). No timer runs unless a call waits.
 */
export function rateLimit(options: RateLimitOptions): RateLimitPolicy {
  return new RateLimitPolicy(options);
}
