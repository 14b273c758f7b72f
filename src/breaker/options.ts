import type { Backoff } from '../backoff/backoff.js';
import { checkClock, type Clock } from '../core/clock.js';
import {
  checkFunction,
  checkKeys,
  checkNumber,
  checkObject,
  checkOneOf,
  type NumberBounds,
  show,
} from '../core/validate.js';
import type { CircuitBreakerSnapshot } from './snapshot.js';

/**
 * Which recent calls the failure and slow-call rates are computed over:
 * the last `size` calls, or the calls of the last `duration` ms (counted in
 * `buckets` slices that expire one at a time, so no timer is needed).
 */
export type CircuitBreakerWindow =
  | { readonly type: 'count'; readonly size?: number }
  | { readonly type: 'time'; readonly duration: number; readonly buckets?: number };

/** Options of {@link circuitBreaker}. Every trigger that is set can open the breaker. */
export interface CircuitBreakerOptions {
  /**
   * Opens when at least this share (0 < rate ≤ 1) of the calls in the window
   * failed, once the window holds `minimumCalls`. Default 0.5, unless
   * `consecutiveFailures` is the only trigger given.
   */
  failureRate?: number;
  /** The window rates are computed over. Default `{ type: 'count', size: 100 }`. */
  window?: CircuitBreakerWindow;
  /**
   * Calls the window must hold before a rate can open the breaker, so that
   * two failures out of three calls at startup do not. Default 20 (or the
   * count window's size, if smaller).
   */
  minimumCalls?: number;
  /** Opens after this many failures in a row (any success resets the run). */
  consecutiveFailures?: number;
  /**
   * Opens when at least this share of the calls in the window were slower
   * than `slowCallDuration`. Default 1 when `slowCallDuration` is set.
   */
  slowCallRate?: number;
  /** A call taking longer than this many ms is slow (successes included). Enables slow-call tracking. */
  slowCallDuration?: number;
  /**
   * How long the breaker stays open before it lets probes through: ms, or a
   * backoff so that repeated opens wait longer (the count restarts after the
   * breaker closes). Default 30 000 ms.
   */
  openFor?: number | Backoff;
  /** Probe calls let through while half-open; they decide whether to close. Default 1. */
  halfOpenCalls?: number;
  /**
   * Whether an error from the dependency counts as a failure; `false` counts
   * it as a success (the dependency answered, e.g. a 404). Default: every error.
   * The caller's abort and bulwark's local rejections are never counted.
   */
  failOn?: (error: unknown) => boolean;
  /** Whether a successful result counts as a failure (e.g. an HTTP 503 response). */
  failOnResult?: (value: unknown) => boolean;
  /** State saved by `snapshot()` to start from (validated). */
  initialState?: CircuitBreakerSnapshot;
  /** Where time is read (default `systemClock`); inject a `VirtualClock` in tests. */
  clock?: Clock;
  /** A name for telemetry and `health()`; default `circuitBreaker`. */
  name?: string;
}

/** The option names `circuitBreaker()` accepts. */
export const CIRCUIT_BREAKER_OPTIONS = [
  'failureRate',
  'window',
  'minimumCalls',
  'consecutiveFailures',
  'slowCallRate',
  'slowCallDuration',
  'openFor',
  'halfOpenCalls',
  'failOn',
  'failOnResult',
  'initialState',
  'clock',
  'name',
] as const;

/** Default `openFor`: long enough for a restarting instance or a failover, short enough to notice recovery. */
export const DEFAULT_OPEN_FOR = 30_000;
const DEFAULT_FAILURE_RATE = 0.5;
const DEFAULT_WINDOW_SIZE = 100;
const DEFAULT_BUCKETS = 10;
const DEFAULT_MINIMUM_CALLS = 20;
/** Larger windows only cost memory; rates over a million calls react too slowly to be useful. */
const MAX_WINDOW_SIZE = 1_000_000;
const MAX_BUCKETS = 1_000;

/**
 * What a breaker built on {@link resolveBreakerOptions} bounds its own way
 * (`sharedCircuitBreaker` keeps its window in Redis, so it caps it lower).
 * @internal
 */
export interface BreakerBounds {
  /** Largest count window. */
  readonly windowSize: number;
  /** The rule for a time window's `duration`. */
  readonly windowDuration: NumberBounds;
  /** The rule for `halfOpenCalls`. */
  readonly halfOpenCalls: NumberBounds;
  /** Checks `openFor` (undefined included) and applies its default. */
  readonly openFor: (policy: string, value: unknown) => number | Backoff;
}

/**
 * Options after validation and defaults. Immutable and shared: breakers built
 * from equal options (a keyed factory building one per host) share one
 * config object, so each breaker stores a pointer instead of a dozen fields.
 * `sharedCircuitBreaker` reads its breaker options from one too.
 * @internal
 */
export interface BreakerConfig {
  readonly clock: Clock;
  readonly openFor: number | Backoff;
  readonly halfOpenCalls: number;
  /** 0: trigger off. */
  readonly consecutiveFailures: number;
  /** 0: trigger off. */
  readonly failureRate: number;
  /** 0: trigger off. */
  readonly slowCallRate: number;
  /** 0: slow calls not tracked. */
  readonly slowCallDuration: number;
  readonly minimumCalls: number;
  /**
   * Count window: its size; time window: its number of buckets.
   * `circuitBreaker`'s: 0 when no rate trigger uses a window.
   */
  readonly windowSize: number;
  /** Time window: its duration in ms; 0 for a count window (or none). */
  readonly windowDuration: number;
  readonly failOn: ((error: unknown) => boolean) | undefined;
  readonly failOnResult: ((value: unknown) => boolean) | undefined;
  /** Failed probes of a half-open round that reopen the breaker. */
  readonly failLimit: number;
  /** Slow probes of a round that reopen it; `halfOpenCalls + 1` (never) without a slow-call rate. */
  readonly slowLimit: number;
}

/** The fields two equal configs agree on (the others are derived from them). */
const CONFIG_KEYS = [
  'clock',
  'openFor',
  'halfOpenCalls',
  'consecutiveFailures',
  'failureRate',
  'slowCallRate',
  'slowCallDuration',
  'minimumCalls',
  'windowSize',
  'windowDuration',
  'failOn',
  'failOnResult',
] as const;

/** Recently built configs; a handful covers the keyed factories of one process. */
const recent: BreakerConfig[] = [];
const RECENT_MAX = 8;

function shared(config: BreakerConfig): BreakerConfig {
  for (const candidate of recent) {
    if (CONFIG_KEYS.every((key) => candidate[key] === config[key])) return candidate;
  }
  Object.freeze(config);
  if (recent.unshift(config) > RECENT_MAX) recent.pop();
  return config;
}

const P = 'circuitBreaker';

function resolveOpenFor(policy: string, value: unknown): number | Backoff {
  if (value === undefined) return DEFAULT_OPEN_FOR;
  if (typeof value === 'number') return checkNumber(policy, 'openFor', value, { min: 0 });
  if (typeof value !== 'object' || value === null || typeof (value as Backoff).delay !== 'function') {
    throw new TypeError(`${policy}: openFor must be a number of ms or a backoff, got ${show(value)}`);
  }
  return value as Backoff;
}

const LOCAL_BOUNDS: BreakerBounds = {
  windowSize: MAX_WINDOW_SIZE,
  windowDuration: { min: 0, exclusiveMin: true },
  halfOpenCalls: { min: 1, max: MAX_WINDOW_SIZE, integer: true },
  openFor: resolveOpenFor,
};

function resolveWindow(
  p: string,
  value: unknown,
  bounds: BreakerBounds,
): { windowSize: number; windowDuration: number; isCount: boolean } {
  checkObject(p, 'window', value);
  const window = value as Partial<{ type: string; size: number; duration: number; buckets: number }>;
  if (window === undefined) return { windowSize: DEFAULT_WINDOW_SIZE, windowDuration: 0, isCount: true };
  const type = checkOneOf(p, 'window.type', window.type, ['count', 'time']);
  if (type === 'count') {
    checkKeys(p, window, ['type', 'size'], 'window.');
    const size = checkNumber(
      p,
      'window.size',
      window.size,
      { min: 1, max: bounds.windowSize, integer: true },
      DEFAULT_WINDOW_SIZE,
    );
    return { windowSize: size, windowDuration: 0, isCount: true };
  }
  checkKeys(p, window, ['type', 'duration', 'buckets'], 'window.');
  const duration = checkNumber(p, 'window.duration', window.duration, bounds.windowDuration);
  const buckets = checkNumber(
    p,
    'window.buckets',
    window.buckets,
    { min: 1, max: MAX_BUCKETS, integer: true },
    DEFAULT_BUCKETS,
  );
  return { windowSize: buckets, windowDuration: duration, isCount: false };
}

/** Smallest number of `n` probes whose share reaches `rate`. */
function probeThreshold(rate: number, n: number): number {
  let count = Math.max(1, Math.floor(rate * n));
  while (count / n < rate) count++;
  return count;
}

/**
 * Validates the breaker options of `options` (all but `initialState`,
 * `name` and the caller's own; unknown keys are the caller's to reject) in
 * one fixed order, with `policy` in the messages, and applies the defaults.
 * The window is returned as given, used by a rate trigger or not.
 * @internal
 */
export function resolveBreakerOptions(
  policy: string,
  options: Omit<CircuitBreakerOptions, 'initialState' | 'name'>,
  bounds: BreakerBounds,
): BreakerConfig {
  const p = policy;
  const o = options;
  const consecutiveFailures =
    o.consecutiveFailures === undefined
      ? 0
      : checkNumber(p, 'consecutiveFailures', o.consecutiveFailures, { min: 1, integer: true });
  const slowCallDuration =
    o.slowCallDuration === undefined
      ? 0
      : checkNumber(p, 'slowCallDuration', o.slowCallDuration, { min: 0, exclusiveMin: true });
  if (o.slowCallRate !== undefined && slowCallDuration === 0) {
    throw new TypeError(`${p}: slowCallRate needs slowCallDuration (how slow is slow?)`);
  }
  const slowCallRate =
    slowCallDuration === 0
      ? 0
      : checkNumber(p, 'slowCallRate', o.slowCallRate, { min: 0, exclusiveMin: true, max: 1 }, 1);
  // A breaker with no trigger given gets the failure-rate trigger; one given
  // only `consecutiveFailures` means just that.
  const failureRate =
    o.failureRate !== undefined || consecutiveFailures === 0
      ? checkNumber(
          p,
          'failureRate',
          o.failureRate,
          { min: 0, exclusiveMin: true, max: 1 },
          DEFAULT_FAILURE_RATE,
        )
      : 0;
  const windowed = failureRate > 0 || slowCallRate > 0;
  if (!windowed && (o.window !== undefined || o.minimumCalls !== undefined)) {
    throw new TypeError(
      `${p}: window and minimumCalls need a rate trigger (failureRate or slowCallRate); consecutiveFailures does not use them`,
    );
  }
  const { windowSize, windowDuration, isCount } = resolveWindow(p, o.window, bounds);
  const minimumCalls = checkNumber(
    p,
    'minimumCalls',
    o.minimumCalls,
    { min: 1, integer: true },
    isCount ? Math.min(DEFAULT_MINIMUM_CALLS, windowSize) : DEFAULT_MINIMUM_CALLS,
  );
  if (isCount && minimumCalls > windowSize) {
    throw new RangeError(
      `${p}: minimumCalls must be ≤ window.size (${windowSize}) or the breaker could never open, got ${minimumCalls}`,
    );
  }
  // `clock` is checked where circuitBreaker always checked it, so that of several bad options the
  // same one is reported (the Redis policies' base checks it first: there this never throws).
  const clock = checkClock(p, o.clock);
  const openFor = bounds.openFor(p, o.openFor);
  const halfOpenCalls = checkNumber(p, 'halfOpenCalls', o.halfOpenCalls, bounds.halfOpenCalls, 1);
  return {
    clock,
    openFor,
    halfOpenCalls,
    consecutiveFailures,
    failureRate,
    slowCallRate,
    slowCallDuration,
    minimumCalls,
    windowSize,
    windowDuration,
    failOn: checkFunction(p, 'failOn', o.failOn),
    failOnResult: checkFunction(p, 'failOnResult', o.failOnResult),
    // With only consecutiveFailures configured, any failed probe reopens.
    failLimit: failureRate > 0 ? probeThreshold(failureRate, halfOpenCalls) : 1,
    slowLimit: slowCallRate > 0 ? probeThreshold(slowCallRate, halfOpenCalls) : halfOpenCalls + 1,
  };
}

/** The longest open period: what a timer can wait (about 24.8 days), and a snapshot can store. */
export const MAX_OPEN_FOR = 2_147_483_647;

/**
 * How long the `count`-th open since the breaker last closed lasts
 * (`previous`: the last one's length), in ms. A backoff is user code: an
 * answer that is not a positive number means no wait, and `Infinity` (open
 * until `reset()`) or anything longer is held to {@link MAX_OPEN_FOR}, so
 * that an open breaker never reads as ready for probes by mistake.
 * @internal
 */
export function askOpenFor(openFor: number | Backoff, count: number, previous: number): number {
  const asked = typeof openFor === 'number' ? openFor : openFor.delay(count, previous);
  return asked > 0 ? Math.min(asked, MAX_OPEN_FOR) : 0;
}

/** Validates every option (`name` and `initialState` are checked by the breaker) and applies the defaults. @internal */
export function resolveBreakerConfig(options: CircuitBreakerOptions): BreakerConfig {
  checkObject(P, 'options', options);
  checkKeys(P, options, CIRCUIT_BREAKER_OPTIONS);
  const config = resolveBreakerOptions(P, options, LOCAL_BOUNDS);
  // No rate trigger reads the window: keep none.
  if (config.failureRate === 0 && config.slowCallRate === 0) {
    return shared({ ...config, windowSize: 0, windowDuration: 0 });
  }
  return shared(config);
}
