import type { Backoff } from '../backoff/backoff.js';
import { checkClock, type Clock } from '../core/clock.js';
import { checkFunction, checkKeys, checkNumber, checkObject, checkOneOf, show } from '../core/validate.js';
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
 * Options after validation and defaults. Immutable and shared: breakers built
 * from equal options (a keyed factory building one per host) share one
 * config object, so each breaker stores a pointer instead of a dozen fields.
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
  /** Count window: its size; time window: its number of buckets; 0: no window. */
  readonly windowSize: number;
  /** Time window: its duration in ms; 0 for a count window. */
  readonly windowDuration: number;
  readonly failOn: ((error: unknown) => boolean) | undefined;
  readonly failOnResult: ((value: unknown) => boolean) | undefined;
}

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

function resolveOpenFor(value: unknown): number | Backoff {
  if (value === undefined) return DEFAULT_OPEN_FOR;
  if (typeof value === 'number') return checkNumber(P, 'openFor', value, { min: 0 });
  if (typeof value !== 'object' || value === null || typeof (value as Backoff).delay !== 'function') {
    throw new TypeError(`${P}: openFor must be a number of ms or a backoff, got ${show(value)}`);
  }
  return value as Backoff;
}

function resolveWindow(value: unknown): { windowSize: number; windowDuration: number; isCount: boolean } {
  checkObject(P, 'window', value);
  const window = value as Partial<{ type: string; size: number; duration: number; buckets: number }>;
  if (window === undefined) return { windowSize: DEFAULT_WINDOW_SIZE, windowDuration: 0, isCount: true };
  const type = checkOneOf(P, 'window.type', window.type, ['count', 'time']);
  if (type === 'count') {
    checkKeys(P, window, ['type', 'size'], 'window.');
    const size = checkNumber(
      P,
      'window.size',
      window.size,
      { min: 1, max: MAX_WINDOW_SIZE, integer: true },
      DEFAULT_WINDOW_SIZE,
    );
    return { windowSize: size, windowDuration: 0, isCount: true };
  }
  checkKeys(P, window, ['type', 'duration', 'buckets'], 'window.');
  const duration = checkNumber(P, 'window.duration', window.duration, { min: 0, exclusiveMin: true });
  const buckets = checkNumber(
    P,
    'window.buckets',
    window.buckets,
    { min: 1, max: MAX_BUCKETS, integer: true },
    DEFAULT_BUCKETS,
  );
  return { windowSize: buckets, windowDuration: duration, isCount: false };
}

/** Validates every option (`name` and `initialState` are checked by the breaker) and applies the defaults. @internal */
export function resolveBreakerConfig(options: CircuitBreakerOptions): BreakerConfig {
  checkObject(P, 'options', options);
  checkKeys(P, options, CIRCUIT_BREAKER_OPTIONS);
  const o = options as Record<string, unknown>;
  const consecutiveFailures =
    o.consecutiveFailures === undefined
      ? 0
      : checkNumber(P, 'consecutiveFailures', o.consecutiveFailures, { min: 1, integer: true });
  const slowCallDuration =
    o.slowCallDuration === undefined
      ? 0
      : checkNumber(P, 'slowCallDuration', o.slowCallDuration, { min: 0, exclusiveMin: true });
  if (o.slowCallRate !== undefined && slowCallDuration === 0) {
    throw new TypeError(`${P}: slowCallRate needs slowCallDuration (how slow is slow?)`);
  }
  const slowCallRate =
    slowCallDuration === 0
      ? 0
      : checkNumber(P, 'slowCallRate', o.slowCallRate, { min: 0, exclusiveMin: true, max: 1 }, 1);
  // A breaker with no trigger given gets the failure-rate trigger; one given
  // only `consecutiveFailures` means just that.
  const failureRate =
    o.failureRate !== undefined || consecutiveFailures === 0
      ? checkNumber(
          P,
          'failureRate',
          o.failureRate,
          { min: 0, exclusiveMin: true, max: 1 },
          DEFAULT_FAILURE_RATE,
        )
      : 0;
  const windowed = failureRate > 0 || slowCallRate > 0;
  if (!windowed && (o.window !== undefined || o.minimumCalls !== undefined)) {
    throw new TypeError(
      `${P}: window and minimumCalls need a rate trigger (failureRate or slowCallRate); consecutiveFailures does not use them`,
    );
  }
  const { windowSize, windowDuration, isCount } = resolveWindow(o.window);
  const minimumCalls = checkNumber(
    P,
    'minimumCalls',
    o.minimumCalls,
    { min: 1, integer: true },
    isCount ? Math.min(DEFAULT_MINIMUM_CALLS, windowSize) : DEFAULT_MINIMUM_CALLS,
  );
  if (isCount && minimumCalls > windowSize) {
    throw new RangeError(
      `${P}: minimumCalls must be ≤ window.size (${windowSize}) or the breaker could never open, got ${minimumCalls}`,
    );
  }
  return shared({
    clock: checkClock(P, o.clock),
    openFor: resolveOpenFor(o.openFor),
    halfOpenCalls: checkNumber(
      P,
      'halfOpenCalls',
      o.halfOpenCalls,
      { min: 1, max: MAX_WINDOW_SIZE, integer: true },
      1,
    ),
    consecutiveFailures,
    failureRate,
    slowCallRate,
    slowCallDuration,
    minimumCalls,
    windowSize: windowed ? windowSize : 0,
    windowDuration: windowed ? windowDuration : 0,
    failOn: checkFunction(P, 'failOn', o.failOn),
    failOnResult: checkFunction(P, 'failOnResult', o.failOnResult),
  });
}
