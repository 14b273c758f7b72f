import { checkClock, type Clock } from '../core/clock.js';
import type { Context, ExecutionContext } from '../core/context.js';
import { ChaosError } from '../core/errors.js';
import { LayerMode, PolicyBase, type PolicyEvents } from '../core/policy.js';
import { sleep } from '../core/sleep.js';
import { checkFunction, checkKeys, checkNumber, checkObject, checkString, show } from '../core/validate.js';

/** Options every chaos strategy takes. */
export interface ChaosOptions {
  /** Share of calls to affect, from 0 to 1. Required: decide how much harm to do. */
  rate: number;
  /**
   * Whether injection is on: a boolean, or a function evaluated per call
   * (e.g. `() => process.env.CHAOS === '1'`, or from `ctx.key`). Default true.
   * With `false` the policy costs one branch per call.
   */
  enabled?: boolean | ((ctx: Context) => boolean);
  /** A source of randomness in [0, 1); inject a seeded one for deterministic tests. Default `Math.random`. */
  random?: () => number;
  /** A name for telemetry. */
  name?: string;
}

/** Options of `chaos.fault()`. */
export interface ChaosFaultOptions extends ChaosOptions {
  /** The error to throw: an error, or a function of the context returning one. Default a new `ChaosError`. */
  error?: Error | ((ctx: Context) => Error);
}

/** Options of `chaos.latency()`. */
export interface ChaosLatencyOptions extends ChaosOptions {
  /** Delay to add before the call, in ms, or a function of the context returning it. */
  ms: number | ((ctx: Context) => number);
  /** Where time is read (and timers set). Default `systemClock`; inject a `VirtualClock` in tests. */
  clock?: Clock;
}

/** Options of `chaos.result()`. */
export interface ChaosResultOptions<T = unknown> extends ChaosOptions {
  /**
   * The result returned instead of calling the work: a value, or a function
   * of the context returning one (or a promise of one).
   */
  value: T | ((ctx: Context) => T | PromiseLike<T>);
}

/** Events a chaos policy emits, besides `success` and `failure`. */
export interface ChaosEvents extends PolicyEvents {
  /** Something was injected into this call. */
  chaos:
    | { readonly kind: 'fault'; readonly error: unknown }
    | { readonly kind: 'latency'; readonly ms: number }
    | { readonly kind: 'result'; readonly value: unknown };
}

/** Option names each chaos factory accepts. */
export const CHAOS_OPTIONS = {
  fault: ['rate', 'enabled', 'random', 'name', 'error'],
  latency: ['rate', 'enabled', 'random', 'name', 'ms', 'clock'],
  result: ['rate', 'enabled', 'random', 'name', 'value'],
} as const;

/** What the three chaos strategies share: when to inject. */
abstract class ChaosPolicyBase extends PolicyBase<ChaosEvents> {
  /** Share of calls affected, from 0 to 1. */
  readonly rate: number;
  /** False only for `enabled: false`: then nothing else is looked at. */
  protected readonly enabledFlag: boolean;
  private readonly enabledFn: ((ctx: Context) => boolean) | undefined;
  private readonly random: () => number;

  constructor(p: string, options: ChaosOptions | undefined, allowed: readonly string[]) {
    checkObject(p, 'options', options);
    if (options === undefined) throw new TypeError(`${p}: options are required: { rate }`);
    checkKeys(p, options, allowed);
    super('chaos', checkString(p, 'name', options.name) ?? p);
    this.rate = checkNumber(p, 'rate', options.rate, { min: 0, max: 1 });
    const enabled: unknown = options.enabled;
    if (enabled !== undefined && typeof enabled !== 'boolean' && typeof enabled !== 'function') {
      throw new TypeError(`${p}: enabled must be a boolean or a function, got ${show(enabled)}`);
    }
    this.enabledFlag = enabled !== false;
    this.enabledFn = typeof enabled === 'function' ? (enabled as (ctx: Context) => boolean) : undefined;
    this.random = checkFunction<() => number>(p, 'random', options.random) ?? Math.random;
  }

  /** Whether to inject into this call. */
  protected inject(ctx: ExecutionContext): boolean {
    if (!this.enabledFlag) return false;
    if (this.enabledFn !== undefined && this.enabledFn(ctx) !== true) return false;
    return this.random() < this.rate;
  }
}

/** Throws an injected error instead of calling the work. Create it with `chaos.fault()`. */
export class ChaosFaultPolicy extends ChaosPolicyBase {
  private readonly error: Error | ((ctx: Context) => Error) | undefined;

  constructor(options: ChaosFaultOptions) {
    const p = 'chaos.fault';
    super(p, options, CHAOS_OPTIONS.fault);
    const error: unknown = options.error;
    if (error !== undefined && !(error instanceof Error) && typeof error !== 'function') {
      throw new TypeError(`${p}: error must be an Error or a function returning one, got ${show(error)}`);
    }
    this.error = error as Error | ((ctx: Context) => Error) | undefined;
  }

  override _enter(ctx: ExecutionContext): unknown {
    if (!this.inject(ctx)) return undefined;
    const error =
      this.error === undefined
        ? new ChaosError()
        : typeof this.error === 'function'
          ? this.error(ctx)
          : this.error;
    if (this.listening('chaos')) this.emit('chaos', { kind: 'fault', error });
    throw error;
  }
}

/** Delays calls before they start. Create it with `chaos.latency()`. */
export class ChaosLatencyPolicy extends ChaosPolicyBase {
  private readonly ms: number | ((ctx: Context) => number);
  private readonly clock: Clock;

  constructor(options: ChaosLatencyOptions) {
    const p = 'chaos.latency';
    super(p, options, CHAOS_OPTIONS.latency);
    this.ms = typeof options.ms === 'function' ? options.ms : checkNumber(p, 'ms', options.ms, { min: 0 });
    this.clock = checkClock(p, options.clock);
  }

  override _enter(ctx: ExecutionContext): unknown {
    if (!this.inject(ctx)) return undefined;
    const asked = typeof this.ms === 'function' ? this.ms(ctx) : this.ms;
    // A function's odd answer (negative, NaN, Infinity) must not hang or skip the call.
    const ms = asked > 0 && Number.isFinite(asked) ? asked : 0;
    if (this.listening('chaos')) this.emit('chaos', { kind: 'latency', ms });
    // The executor awaits a promise from `_enter`; the wait ends at once on abort.
    return sleep(this.clock, ms, ctx);
  }
}

/** Returns an injected result instead of calling the work. Create it with `chaos.result()`. */
export class ChaosResultPolicy<T = unknown> extends ChaosPolicyBase {
  private readonly value: T | ((ctx: Context) => T | PromiseLike<T>);

  constructor(options: ChaosResultOptions<T>) {
    const p = 'chaos.result';
    super(p, options, CHAOS_OPTIONS.result);
    if (!('value' in options)) throw new TypeError(`${p}: value is required`);
    this.value = options.value;
    // Skipping the work takes an Around layer (a frame per call); a policy
    // switched off for good stays a plain step that does nothing.
    if (this.enabledFlag) this._mode = LayerMode.Around;
  }

  override _around(
    ctx: ExecutionContext,
    next: (ctx: ExecutionContext) => Promise<unknown>,
  ): Promise<unknown> {
    if (!this.inject(ctx)) {
      const work = next(ctx);
      if (!this.listening('success') && !this.listening('failure')) return work;
      return work.then(
        (value) => {
          if (this.listening('success')) this.emit('success', { value });
          return value;
        },
        (error: unknown) => {
          if (this.listening('failure')) this.emit('failure', { error });
          throw error;
        },
      );
    }
    const value =
      typeof this.value === 'function'
        ? (this.value as (ctx: Context) => T | PromiseLike<T>)(ctx)
        : this.value;
    return Promise.resolve(value).then((resolved) => {
      if (this.listening('chaos')) this.emit('chaos', { kind: 'result', value: resolved });
      if (this.listening('success')) this.emit('success', { value: resolved });
      return resolved;
    });
  }
}

/**
 * Fault injection for tests and game days, as Polly's chaos strategies:
 * each factory affects a `rate` share of calls while `enabled`.
 *
 * - `chaos.fault({ rate, error })` throws `error` (default a `ChaosError`) instead of calling the work;
 * - `chaos.latency({ rate, ms })` waits `ms` before the work (ending at once on abort);
 * - `chaos.result({ rate, value })` returns `value` instead of calling the work.
 */
export const chaos: {
  /** Throws an injected error for a `rate` share of calls, without calling the work. */
  readonly fault: (options: ChaosFaultOptions) => ChaosFaultPolicy;
  /** Delays a `rate` share of calls by `ms` before the work starts. */
  readonly latency: (options: ChaosLatencyOptions) => ChaosLatencyPolicy;
  /** Returns `value` for a `rate` share of calls, without calling the work. */
  readonly result: <T>(options: ChaosResultOptions<T>) => ChaosResultPolicy<T>;
} = /* @__PURE__ */ Object.freeze({
  fault: (options: ChaosFaultOptions) => new ChaosFaultPolicy(options),
  latency: (options: ChaosLatencyOptions) => new ChaosLatencyPolicy(options),
  result: <T>(options: ChaosResultOptions<T>) => new ChaosResultPolicy<T>(options),
});
