import { checkClock, type Clock } from '../core/clock.js';
import { ExecutionContext } from '../core/context.js';
import { TimeoutError } from '../core/errors.js';
import { LayerMode, PolicyBase, type PolicyEvents } from '../core/policy.js';
import { checkKeys, checkNumber, checkObject, checkOneOf, checkString } from '../core/validate.js';
import { type DeadlineEntry, DeadlineQueue } from './deadlines.js';

/** `cooperative`: abort the signal and wait for the work; `aggressive`: also reject at once. */
export type TimeoutStrategy = 'cooperative' | 'aggressive';

/** Options of {@link timeout} (or pass just the ms). */
export interface TimeoutOptions {
  /** The deadline in ms. */
  ms: number;
  /**
   * `cooperative` (default): aborts `ctx.signal` and waits for the work to
   * honour it. `aggressive`: also rejects at once, leaving the work to finish
   * in the background (slots outside stay held until it does).
   */
  strategy?: TimeoutStrategy;
  /** Where time is read and the deadline timer is scheduled. Default `systemClock`. */
  clock?: Clock;
  /** A name for telemetry. Default `timeout`. */
  name?: string;
}

/** Events of a timeout policy, for `on(event, listener)`. */
export interface TimeoutEvents extends PolicyEvents {
  /** The deadline passed; the call's signal has been aborted. */
  timeout: { readonly timeout: number; readonly attempt: number };
}

/** A call's own scope under a timeout, linked into the policy's deadline queue. */
class TimedContext extends ExecutionContext implements DeadlineEntry {
  // Built per call: `declare`d fields assigned in the constructor, as in ExecutionContext.
  declare deadline: number;
  declare prev: DeadlineEntry | undefined;
  declare next: DeadlineEntry | undefined;
  declare queued: boolean;
  declare timedOut: boolean;
  /** Set by the aggressive strategy: rejects the waiting caller. */
  declare onTimedOut: ((error: TimeoutError) => void) | undefined;
  declare private readonly policy: TimeoutPolicy;

  constructor(parent: ExecutionContext, policy: TimeoutPolicy) {
    super(undefined, parent.key, parent.priority, parent);
    this.attempt = parent.attempt;
    this.deadline = 0;
    this.prev = undefined;
    this.next = undefined;
    this.queued = false;
    this.timedOut = false;
    this.onTimedOut = undefined;
    this.policy = policy;
  }

  expire(): void {
    // A caller's abort that came first stays the caller's abort, never a timeout.
    if (this.aborted) return;
    this.timedOut = true;
    const error = new TimeoutError(this.policy.ms);
    this.abort(error);
    this.policy._timedOut(this);
    this.onTimedOut?.(error);
  }
}

/** The option names `timeout()` accepts (unknown keys are rejected). */
export const TIMEOUT_OPTIONS = ['ms', 'strategy', 'clock', 'name'] as const;

/** Bounds a call's duration. Create it with `timeout()`. */
export class TimeoutPolicy extends PolicyBase<TimeoutEvents> {
  /** The time limit of one call, in ms. */
  readonly ms: number;
  /** `cooperative` waits for the work to honour the signal; `aggressive` rejects at once. */
  readonly strategy: TimeoutStrategy;
  private readonly clock: Clock;
  private readonly deadlines: DeadlineQueue;

  constructor(options: number | TimeoutOptions) {
    const p = 'timeout';
    const opts: TimeoutOptions = typeof options === 'number' ? { ms: options } : options;
    checkObject(p, 'options', opts);
    if (opts === undefined) throw new TypeError('timeout: expected ms or { ms }, got undefined');
    checkKeys(p, opts, TIMEOUT_OPTIONS);
    super('timeout', checkString(p, 'name', opts.name));
    this.ms = checkNumber(p, 'ms', opts.ms, { min: 0, exclusiveMin: true });
    this.strategy = checkOneOf(p, 'strategy', opts.strategy, ['cooperative', 'aggressive'], 'cooperative');
    this.clock = checkClock(p, opts.clock);
    // Calls started within ms/64 (at most 25 ms) of each other may share one
    // clock reading: a deadline then comes at most that much late, never early.
    const slack = Math.min(this.ms / 64, 25);
    this.deadlines = new DeadlineQueue(this.clock, slack >= 1 ? slack : 0);
    if (this.strategy === 'aggressive') this._mode = LayerMode.Around;
    else this._scoped = true;
  }

  /** @internal */
  _timedOut(ctx: TimedContext): void {
    if (this.listening('timeout')) this.emit('timeout', { timeout: this.ms, attempt: ctx.attempt });
  }

  private start(ctx: ExecutionContext): TimedContext {
    const scope = new TimedContext(ctx, this);
    scope.deadline = this.deadlines.deadlineAfter(this.ms);
    this.deadlines.add(scope);
    return scope;
  }

  private end(scope: TimedContext): void {
    this.deadlines.remove(scope);
    scope.dispose();
  }

  private failureOf(scope: TimedContext, error: unknown): unknown {
    if (!scope.timedOut || error instanceof TimeoutError) return error;
    return new TimeoutError(this.ms, { cause: error });
  }

  override _enter(ctx: ExecutionContext): unknown {
    return this.start(ctx);
  }

  override _success(ctx: ExecutionContext, scope: unknown, value: unknown): unknown {
    this.end(scope as TimedContext);
    return super._success(ctx, scope, value);
  }

  override _failure(ctx: ExecutionContext, scope: unknown, error: unknown): unknown {
    this.end(scope as TimedContext);
    return super._failure(ctx, scope, this.failureOf(scope as TimedContext, error));
  }

  override _around(
    ctx: ExecutionContext,
    next: (ctx: ExecutionContext) => Promise<unknown>,
  ): Promise<unknown> {
    const scope = this.start(ctx);
    return new Promise((resolve, reject) => {
      let settled = false;
      let work: Promise<unknown> | undefined;
      scope.onTimedOut = (error) => {
        settled = true;
        // The work goes on past our answer: let slot holders outside wait for it.
        if (work !== undefined) ctx.linger(work);
        if (this.listening('failure')) this.emit('failure', { error });
        reject(error);
      };
      work = next(scope);
      // A deadline can pass while the work is being started (a clock that
      // runs timers synchronously, such as fake timers advanced inside it):
      // the work was not there to linger yet.
      if (settled) ctx.linger(work);
      work.then(
        (value) => {
          this.end(scope);
          if (settled) return;
          settled = true;
          this._emitOutcome(false, value);
          resolve(value);
        },
        (error: unknown) => {
          this.end(scope);
          if (settled) return;
          settled = true;
          const failure = this.failureOf(scope, error);
          this._emitOutcome(true, failure);
          reject(failure);
        },
      );
    });
  }
}

/**
 * Bounds each call to `ms` (or `{ ms, strategy }`): aborts `ctx.signal` when
 * the deadline passes and reports `TimeoutError`. Uses one shared deadline
 * queue per policy, not a timer per call.
 */
export function timeout(options: number | TimeoutOptions): TimeoutPolicy {
  return new TimeoutPolicy(options);
}
