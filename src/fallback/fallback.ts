import { checkClock, type Clock } from '../core/clock.js';
import type { ExecutionContext } from '../core/context.js';
import { LayerFlag, LayerMode, PolicyBase, type PolicyEvents } from '../core/policy.js';
import { checkFunction, checkKeys, checkNumber, checkObject, checkString } from '../core/validate.js';

/** Options of {@link fallback}: `value`, `lastKnownGood`, or both. */
export interface FallbackOptions<T = unknown> {
  /**
   * The substitute: a value, or a function called with the error that
   * returns one (or a promise of one).
   */
  value?: T | ((error: unknown) => T | PromiseLike<T>);
  /**
   * Remember the last successful result and serve it, while younger than
   * `ttl` ms, instead of `value`.
   */
  lastKnownGood?: { ttl: number };
  /** Which errors to replace. Default: all, except the caller's own abort. */
  fallbackOn?: (error: unknown) => boolean;
  /** Where time is read (for `lastKnownGood.ttl`). Default `systemClock`. */
  clock?: Clock;
  /** A name for telemetry. Default `fallback`. */
  name?: string;
}

/** Events of a fallback policy, for `on(event, listener)`. */
export interface FallbackEvents extends PolicyEvents {
  /** A failure was replaced by a fallback result. */
  fallback: { readonly error: unknown; readonly source: 'value' | 'lastKnownGood' };
}

/** The option names `fallback()` accepts (unknown keys are rejected). */
export const FALLBACK_OPTIONS = ['value', 'lastKnownGood', 'fallbackOn', 'clock', 'name'] as const;

/** Replaces failures with a substitute result. Create it with `fallback()`. */
export class FallbackPolicy<T = unknown> extends PolicyBase<FallbackEvents> {
  private readonly hasValue: boolean;
  private readonly value: T | ((error: unknown) => T | PromiseLike<T>) | undefined;
  private readonly ttl: number | undefined;
  private readonly fallbackOn: ((error: unknown) => boolean) | undefined;
  private readonly clock: Clock;
  private good: { value: unknown; at: number } | undefined;

  constructor(options: FallbackOptions<T>) {
    const p = 'fallback';
    checkObject(p, 'options', options);
    if (options === undefined)
      throw new TypeError('fallback: options are required: { value } or { lastKnownGood }');
    checkKeys(p, options, FALLBACK_OPTIONS);
    super('fallback', checkString(p, 'name', options.name));
    this._mode = LayerMode.Wrapper;
    this.hasValue = 'value' in options;
    this.value = options.value;
    checkObject(p, 'lastKnownGood', options.lastKnownGood);
    checkKeys(p, options.lastKnownGood, ['ttl'], 'lastKnownGood.');
    this.ttl =
      options.lastKnownGood === undefined
        ? undefined
        : checkNumber(p, 'lastKnownGood.ttl', options.lastKnownGood.ttl, {
            min: 0,
            exclusiveMin: true,
            infinite: true,
          });
    // Only a last known good gives `_success` anything to do.
    this._layer.set(LayerFlag.Succeeds, this.ttl !== undefined);
    if (!this.hasValue && this.ttl === undefined) {
      throw new TypeError('fallback: needs value or lastKnownGood, got neither');
    }
    this.fallbackOn = checkFunction(p, 'fallbackOn', options.fallbackOn);
    this.clock = checkClock(p, options.clock);
  }

  /** Forgets the remembered last known good result. */
  clearLastKnownGood(): void {
    this.good = undefined;
  }

  override _success(_ctx: ExecutionContext, _token: unknown, value: unknown): unknown {
    if (this.ttl !== undefined) this.good = { value, at: this.clock.now() };
    return undefined;
  }

  override async _recover(
    ctx: ExecutionContext,
    _token: unknown,
    failed: boolean,
    outcome: unknown,
  ): Promise<unknown> {
    if (!failed) return outcome;
    // A caller who aborted wants the call to stop, not a substitute.
    if (ctx.aborted || (this.fallbackOn !== undefined && !this.fallbackOn(outcome))) {
      if (this.listening('failure')) this.emit('failure', { error: outcome });
      throw outcome;
    }
    const good = this.good;
    if (good !== undefined && this.clock.now() - good.at <= (this.ttl as number)) {
      if (this.listening('fallback')) this.emit('fallback', { error: outcome, source: 'lastKnownGood' });
      return good.value;
    }
    if (!this.hasValue) {
      if (this.listening('failure')) this.emit('failure', { error: outcome });
      throw outcome;
    }
    const value =
      typeof this.value === 'function'
        ? await (this.value as (error: unknown) => T | PromiseLike<T>)(outcome)
        : this.value;
    if (this.listening('fallback')) this.emit('fallback', { error: outcome, source: 'value' });
    return value;
  }
}

/**
 * Graceful degradation: replaces a failure with `value` (or `value(error)`),
 * or with the last known good result while it is fresh.
 */
export function fallback<T>(options: FallbackOptions<T>): FallbackPolicy<T> {
  return new FallbackPolicy(options);
}
