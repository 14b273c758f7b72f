import { type Backoff, exponential, toBackoff } from '../backoff/backoff.js';
import { checkBudget, type RetryBudgetContract, recordFirstAttempt } from '../core/budget.js';
import { checkClock, type Clock } from '../core/clock.js';
import type { ExecutionContext } from '../core/context.js';
import { isRetryable, retryAfterOf } from '../core/errors.js';
import { LayerFlag, LayerMode, PolicyBase, type PolicyEvents, RECOVER } from '../core/policy.js';
import { sleep } from '../core/sleep.js';
import { checkFunction, checkKeys, checkNumber, checkObject, checkString } from '../core/validate.js';

/** What an attempt ended with: an error, or a result `retryOnResult` asked to retry. */
export type RetryOutcome =
  | { readonly error: unknown; readonly result?: never }
  | { readonly result: unknown; readonly error?: never };

/** Options of {@link retry}; every one is validated when the policy is built. */
export interface RetryOptions {
  /** Every attempt counts, the first included. Default 3. */
  maxAttempts?: number;
  /** Delay before each retry: a backoff, or a number of ms. Default exponential from 100 ms, full jitter, cap 30 s. */
  backoff?: Backoff | number;
  /**
   * Whether an error is worth another attempt. Default: every error except
   * bulwark's "pointless now" ones (open breaker, full bulkhead, local throttling).
   * A caller's abort is never retried, whatever this says.
   */
  retryOn?: (error: unknown, attempt: number) => boolean;
  /** Whether a successful result should be retried (e.g. an HTTP 503 response). */
  retryOnResult?: (result: unknown, attempt: number) => boolean;
  /** No retry starts (or waits) past this many ms after the first attempt began. */
  maxDuration?: number;
  /**
   * A minimum delay read from the outcome, e.g. a Retry-After header. By default
   * an error's or result's `retryAfter` (ms) is used.
   */
  delay?: (outcome: RetryOutcome, attempt: number) => number | undefined;
  /** Longest server-requested delay to honour; a longer one gives up at once. Default 60 000 ms. */
  maxRetryAfter?: number;
  /** A retry budget shared across policies: over budget, the call fails with its last error. */
  budget?: RetryBudgetContract;
  /** Where time is read and backoff waits are scheduled. Default `systemClock`. */
  clock?: Clock;
  /** A name for telemetry. Default `retry`. */
  name?: string;
}

/** Events of a retry policy, for `on(event, listener)`. */
export interface RetryEvents extends PolicyEvents {
  /** A retry is scheduled: `attempt` failed, the next starts after `delay` ms. */
  retry: {
    readonly attempt: number;
    readonly delay: number;
    readonly error?: unknown;
    readonly result?: unknown;
  };
  /** Retrying stopped though the outcome was retryable. */
  giveUp: {
    readonly attempts: number;
    readonly reason: 'maxAttempts' | 'maxDuration' | 'budget' | 'retryAfter';
    readonly error?: unknown;
    readonly result?: unknown;
  };
}

/** The option names `retry()` accepts (unknown keys are rejected). */
export const RETRY_OPTIONS = [
  'maxAttempts',
  'backoff',
  'retryOn',
  'retryOnResult',
  'maxDuration',
  'delay',
  'maxRetryAfter',
  'budget',
  'clock',
  'name',
] as const;

/** Re-runs failed calls with backoff. Create it with `retry()`. */
export class RetryPolicy extends PolicyBase<RetryEvents> {
  /** Attempts per call, the first included. */
  readonly maxAttempts: number;
  private readonly backoff: Backoff;
  private readonly retryOn: ((error: unknown, attempt: number) => boolean) | undefined;
  private readonly retryOnResult: ((result: unknown, attempt: number) => boolean) | undefined;
  private readonly maxDuration: number | undefined;
  private readonly delayFrom: ((outcome: RetryOutcome, attempt: number) => number | undefined) | undefined;
  private readonly maxRetryAfter: number;
  private readonly budget: RetryBudgetContract | undefined;
  private readonly clock: Clock;

  constructor(options: RetryOptions = {}) {
    const p = 'retry';
    checkObject(p, 'options', options);
    checkKeys(p, options, RETRY_OPTIONS);
    super('retry', checkString(p, 'name', options.name));
    this._mode = LayerMode.Wrapper;
    this.maxAttempts = checkNumber(p, 'maxAttempts', options.maxAttempts, { min: 1, integer: true }, 3);
    this.backoff = toBackoff(p, 'backoff', options.backoff) ?? exponential();
    this.retryOn = checkFunction(p, 'retryOn', options.retryOn);
    this.retryOnResult = checkFunction(p, 'retryOnResult', options.retryOnResult);
    // Only a result check gives `_success` anything to do.
    this._layer.set(LayerFlag.Succeeds, this.retryOnResult !== undefined);
    this.maxDuration =
      options.maxDuration === undefined
        ? undefined
        : checkNumber(p, 'maxDuration', options.maxDuration, { min: 0, exclusiveMin: true });
    this.delayFrom = checkFunction(p, 'delay', options.delay);
    this.maxRetryAfter = checkNumber(
      p,
      'maxRetryAfter',
      options.maxRetryAfter,
      { min: 0, infinite: true },
      60_000,
    );
    this.budget = checkBudget(p, options.budget);
    this.clock = checkClock(p, options.clock);
  }

  override _enter(ctx: ExecutionContext): unknown {
    ctx.attempt = 1;
    if (this.budget !== undefined) recordFirstAttempt(this.budget, ctx);
    // The start time is read only when a duration limit needs it.
    return this.maxDuration === undefined ? undefined : this.clock.now();
  }

  override _success(_ctx: ExecutionContext, _token: unknown, value: unknown): unknown {
    // `success` is emitted by the executor when this returns anything but RECOVER.
    return this.retryOnResult?.(value, 1) === true ? RECOVER : undefined;
  }

  override async _recover(
    ctx: ExecutionContext,
    startedAt: unknown,
    failed: boolean,
    outcome: unknown,
    rerun: (ctx: ExecutionContext) => Promise<unknown>,
  ): Promise<unknown> {
    // Counted here, not read from ctx.attempt: a retry nested inside this one
    // resets ctx.attempt for its own attempts. `_recover` always follows attempt 1.
    let attempt = 1;
    let previousDelay = 0;
    for (;;) {
      // A caller's abort (or an enclosing timeout) ends retrying at once.
      if (ctx.aborted || (failed && !this.shouldRetryError(outcome, attempt))) {
        return this.finish(failed, outcome);
      }
      let delay = 0;
      let stop: RetryEvents['giveUp']['reason'] | undefined = 'maxAttempts';
      // The backoff and `delay` are asked only when another attempt may follow.
      if (attempt < this.maxAttempts) {
        const asked = this.askedDelay(attempt, failed, outcome);
        delay = this.nextDelay(attempt, previousDelay, asked);
        stop = this.stopReason(delay, asked, startedAt);
      }
      if (stop !== undefined) {
        if (this.listening('giveUp')) {
          this.emit(
            'giveUp',
            failed
              ? { attempts: attempt, reason: stop, error: outcome }
              : { attempts: attempt, reason: stop, result: outcome },
          );
        }
        return this.finish(failed, outcome);
      }
      if (this.listening('retry')) {
        this.emit('retry', failed ? { attempt, delay, error: outcome } : { attempt, delay, result: outcome });
      }
      previousDelay = delay;
      await sleep(this.clock, delay, ctx);
      attempt += 1;
      ctx.attempt = attempt;
      try {
        outcome = await rerun(ctx);
        failed = false;
      } catch (error) {
        failed = true;
        outcome = error;
      }
      // Outside the try: a predicate that throws is the call's failure, as on
      // the first attempt, not one more failed attempt to retry.
      if (!failed && this.retryOnResult?.(outcome, attempt) !== true) return this.finish(false, outcome);
    }
  }

  private shouldRetryError(error: unknown, attempt: number): boolean {
    return this.retryOn === undefined ? isRetryable(error) : this.retryOn(error, attempt) === true;
  }

  /** The delay the outcome asks for (e.g. Retry-After), if any; NaN and negatives ask for nothing. */
  private askedDelay(attempt: number, failed: boolean, outcome: unknown): number | undefined {
    const asked =
      this.delayFrom === undefined
        ? retryAfterOf(outcome)
        : this.delayFrom(failed ? { error: outcome } : { result: outcome }, attempt);
    return typeof asked === 'number' && asked >= 0 ? asked : undefined;
  }

  private nextDelay(attempt: number, previous: number, asked: number | undefined): number {
    let delay = this.backoff.delay(attempt, previous);
    if (asked !== undefined && asked > delay) delay = asked;
    return Number.isFinite(delay) && delay > 0 ? delay : 0;
  }

  /** Why no further attempt may start, if so. */
  private stopReason(
    delay: number,
    asked: number | undefined,
    startedAt: unknown,
  ): RetryEvents['giveUp']['reason'] | undefined {
    // Only a delay the server asked for is capped; a long backoff the user chose is not.
    // An infinite one ("never") gives up whatever the cap.
    if (asked !== undefined && (asked > this.maxRetryAfter || asked === Number.POSITIVE_INFINITY)) {
      return 'retryAfter';
    }
    if (
      this.maxDuration !== undefined &&
      this.clock.now() + delay - (startedAt as number) >= this.maxDuration
    ) {
      return 'maxDuration';
    }
    if (this.budget !== undefined && !this.budget.tryRetry()) return 'budget';
    return undefined;
  }

  private finish(failed: boolean, outcome: unknown): unknown {
    if (failed) {
      if (this.listening('failure')) this.emit('failure', { error: outcome });
      throw outcome;
    }
    if (this.listening('success')) this.emit('success', { value: outcome });
    return outcome;
  }
}

/**
 * Re-runs a failing call: `maxAttempts` counts every attempt (default 3),
 * waits per `backoff` (at least any `retryAfter` the error or result carries),
 * stops at once when the caller aborts, and rethrows the last error when done.
 */
export function retry(options?: RetryOptions): RetryPolicy {
  return new RetryPolicy(options);
}
