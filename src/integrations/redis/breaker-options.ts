import type { Backoff } from '../../backoff/backoff.js';
import { checkKeys, checkNumber, checkObject, checkOneOf } from '../../core/validate.js';
import {
  REDIS_POLICY_OPTIONS,
  type RedisPolicyEvents,
  type RedisPolicyOptions,
  type RedisStats,
} from './shared.js';

/** A breaker's state, as `circuitBreaker`'s; `isolated` is a forced open. */
export type SharedBreakerState = 'closed' | 'open' | 'halfOpen' | 'isolated';

/** Why the breaker opened, as `circuitBreaker` reports it. */
export type SharedBreakerOpenReason = 'consecutiveFailures' | 'failureRate' | 'slowCallRate' | 'halfOpen';

/** The window failure and slow-call rates are computed over, fleet-wide (as `circuitBreaker`'s). */
export type SharedBreakerWindow =
  /** The last `size` calls of the whole fleet (default 100, at most 10 000). */
  | { readonly type: 'count'; readonly size?: number }
  /** The calls of the last `duration` ms, counted in `buckets` slices (default 10). */
  | { readonly type: 'time'; readonly duration: number; readonly buckets?: number };

/**
 * Options of {@link sharedCircuitBreaker}: `circuitBreaker`'s breaker options
 * (same names, defaults and meaning), plus the Redis options and the sync tuning.
 */
export interface SharedCircuitBreakerOptions extends RedisPolicyOptions {
  /**
   * Opens when at least this share (0 < rate ≤ 1) of the window's calls
   * failed, once it holds `minimumCalls`. Default 0.5, unless
   * `consecutiveFailures` is the only trigger given.
   */
  failureRate?: number;
  /** Default `{ type: 'count', size: 100 }`. */
  window?: SharedBreakerWindow;
  /** Calls the window must hold before a rate can open the breaker. Default 20 (or the count window's size, if smaller). */
  minimumCalls?: number;
  /** Opens after this many failures in a row, fleet-wide (as flushed). */
  consecutiveFailures?: number;
  /** Opens when at least this share of the window's calls were slow. Default 1 when `slowCallDuration` is set. */
  slowCallRate?: number;
  /** A call taking longer than this many ms is slow (successes included). Enables slow-call tracking. */
  slowCallDuration?: number;
  /** How long the breaker stays open: ms, or a backoff over the opens since it last closed. Default 30 000. */
  openFor?: number | Backoff;
  /** Probes let through fleet-wide while half-open; they decide whether to close. Default 1. */
  halfOpenCalls?: number;
  /**
   * Whether an error counts as a failure; `false` counts it as a success.
   * Default: every error. The caller's abort and bulwark's local rejections are never counted.
   */
  failOn?: (error: unknown) => boolean;
  /** Whether a successful result counts as a failure (e.g. an HTTP 503 response). */
  failOnResult?: (value: unknown) => boolean;
  /**
   * A half-open round whose probes were all handed out this many ms ago
   * without a verdict (their instance died) starts again. Default 60 000.
   */
  probeTimeout?: number;
  /**
   * How often, in ms, this instance flushes its outcomes to Redis and reads
   * the fleet's state while calls flow. Bounds the staleness. Default 100.
   */
  syncInterval?: number;
  /** Flush early once this many outcomes are waiting. Default 100. */
  maxBatch?: number;
  /** An idle breaker's state expires from Redis after this many ms. Default 86 400 000 (a day). */
  stateTtl?: number;
}

/** Events of {@link sharedCircuitBreaker}, as `circuitBreaker`'s; each instance emits them when it sees the change. */
export interface SharedCircuitBreakerEvents extends RedisPolicyEvents {
  /** The breaker opened (the rates are those of the calls that opened it, fleet-wide). */
  open: {
    readonly reason: SharedBreakerOpenReason;
    readonly failureRate: number;
    readonly slowCallRate: number;
    readonly calls: number;
    /** How long it stays open from now, in ms. */
    readonly retryAfter: number;
  };
  /** The open period ended: `probes` calls are let through, fleet-wide, to test the dependency. */
  halfOpen: { readonly probes: number };
  /** The breaker closed: probes succeeded, `reset()` was called, or the isolation was released. */
  close: { readonly reason: 'probes' | 'reset' | 'release' };
  /** A call was rejected with `CircuitOpenError`. */
  reject: { readonly state: 'open' | 'halfOpen' | 'isolated'; readonly retryAfter: number };
  /** Any change of the state this instance sees. */
  stateChange: { readonly from: SharedBreakerState; readonly to: SharedBreakerState };
}

/** The fleet's breaker as this instance last saw it (as `circuitBreaker`'s stats), with its own counters. */
export interface SharedCircuitBreakerStats extends RedisStats {
  /** The state this instance last saw. */
  readonly state: SharedBreakerState;
  /** Calls in the fleet's window at the last sync (half-open: probes that settled). */
  readonly calls: number;
  /** Failures among those calls. */
  readonly failures: number;
  /** Slow calls among those calls. */
  readonly slowCalls: number;
  /** `failures / calls`, 0 with no calls. */
  readonly failureRate: number;
  /** `slowCalls / calls`, 0 with no calls. */
  readonly slowCallRate: number;
  /** Failures in a row across the fleet, reset by a success. */
  readonly consecutiveFailures: number;
  /** Half-open probes handed out fleet-wide and not given back. */
  readonly probes: number;
  /** Times opened since the breaker last closed. */
  readonly openCount: number;
  /** Open: ms until a probe may go; otherwise 0. */
  readonly retryAfter: number;
  /** Outcomes waiting to be flushed. */
  readonly pending: number;
  /** Outcomes not counted because a flush failed or the buffer was full. */
  readonly dropped: number;
  /** Calls this instance rejected. */
  readonly rejected: number;
}

/** The option names `sharedCircuitBreaker` accepts. */
export const SHARED_CIRCUIT_BREAKER_OPTIONS = [
  ...REDIS_POLICY_OPTIONS,
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
  'probeTimeout',
  'syncInterval',
  'maxBatch',
  'stateTtl',
] as const;

/** A count window is rewritten in Redis on every flush; beyond this the cost outgrows the benefit. */
const MAX_COUNT_WINDOW = 10_000;
const MAX_BUCKETS = 1_000;

/** Validates `window` and applies its defaults. @internal */
export function checkWindow(p: string, value: unknown): SharedBreakerWindow {
  if (value === undefined) return { type: 'count', size: 100 };
  checkObject(p, 'window', value);
  const w = value as { type?: unknown; size?: unknown; duration?: unknown; buckets?: unknown };
  const type = checkOneOf(p, 'window.type', w.type, ['count', 'time']);
  if (type === 'count') {
    checkKeys(p, w, ['type', 'size'], 'window.');
    const size = checkNumber(p, 'window.size', w.size, { min: 1, max: MAX_COUNT_WINDOW, integer: true }, 100);
    return { type, size };
  }
  checkKeys(p, w, ['type', 'duration', 'buckets'], 'window.');
  const duration = checkNumber(p, 'window.duration', w.duration, { min: 1, integer: true });
  const buckets = checkNumber(
    p,
    'window.buckets',
    w.buckets,
    { min: 1, max: MAX_BUCKETS, integer: true },
    10,
  );
  // A bucket is at least 1 ms wide.
  return { type, duration, buckets: Math.min(buckets, duration) };
}
