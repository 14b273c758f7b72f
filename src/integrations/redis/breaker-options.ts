import type { CircuitBreakerEvents, CircuitBreakerStats, CircuitOpenReason } from '../../breaker/breaker.js';
import type { CircuitBreakerOptions } from '../../breaker/options.js';
import type { CircuitState } from '../../breaker/snapshot.js';
import {
  REDIS_POLICY_OPTIONS,
  type RedisPolicyEvents,
  type RedisPolicyOptions,
  type RedisStats,
} from './shared.js';

/** A breaker's state, as `circuitBreaker`'s; `isolated` is a forced open. */
export type SharedBreakerState = CircuitState;

/** Why the breaker opened, as `circuitBreaker` reports it. */
export type SharedBreakerOpenReason = CircuitOpenReason;

/** The window failure and slow-call rates are computed over, fleet-wide (as `circuitBreaker`'s). */
export type SharedBreakerWindow =
  /** The last `size` calls of the whole fleet (default 100, at most 10 000). */
  | { readonly type: 'count'; readonly size?: number }
  /** The calls of the last `duration` ms, counted in `buckets` slices (default 10). */
  | { readonly type: 'time'; readonly duration: number; readonly buckets?: number };

/**
 * Options of {@link sharedCircuitBreaker}: `circuitBreaker`'s breaker options
 * (same names, defaults and meaning, counted fleet-wide: the window, the
 * failures in a row as flushed, the half-open probes), plus the Redis
 * options and the sync tuning.
 */
export interface SharedCircuitBreakerOptions
  extends RedisPolicyOptions,
    Omit<CircuitBreakerOptions, 'window' | 'initialState' | 'clock' | 'name'> {
  /** The fleet's window. Default `{ type: 'count', size: 100 }`; a count window holds at most 10 000 calls. */
  window?: SharedBreakerWindow;
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

/**
 * Events of {@link sharedCircuitBreaker}: `circuitBreaker`'s, for the fleet's
 * breaker (an open's rates are those of the calls that opened it, fleet-wide;
 * `halfOpen`'s probes are let through fleet-wide). Each instance emits them
 * when it sees the change.
 */
export interface SharedCircuitBreakerEvents extends RedisPolicyEvents, CircuitBreakerEvents {}

/**
 * The fleet's breaker as this instance last saw it, with its own counters:
 * `circuitBreaker`'s stats (the state and the window's counts as of the last
 * sync, the failures in a row and the probes out fleet-wide), plus the Redis
 * counters and the ones below.
 */
export interface SharedCircuitBreakerStats extends RedisStats, CircuitBreakerStats {
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
