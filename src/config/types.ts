import type { AdaptiveAlgorithm, AdaptiveConcurrencyOptions } from '../adaptive/adaptive-concurrency.js';
import type { Jitter } from '../backoff/backoff.js';
import type { CircuitBreakerOptions } from '../breaker/options.js';
import type { CircuitBreakerSnapshot } from '../breaker/snapshot.js';
import type { RetryBudgetOptions } from '../budget/budget.js';
import type { BulkheadOptions } from '../bulkhead/bulkhead.js';
import type { ChaosFaultOptions, ChaosLatencyOptions, ChaosResultOptions } from '../chaos/chaos.js';
import type { FallbackOptions } from '../fallback/fallback.js';
import type { HedgeOptions, HedgeQuantile } from '../hedge/hedge.js';
import type { KeyedOptions } from '../keyed/keyed.js';
import type { RateLimitCommonOptions, RateLimitMode } from '../rate-limit/rate-limit.js';
import type { RetryOptions } from '../retry/retry.js';
import type { ThrottleOptions } from '../throttle/throttle.js';
import type { TimeoutOptions, TimeoutStrategy } from '../timeout/timeout.js';
import type { Duration } from './duration.js';
import type { LayerKey } from './order.js';

/*
 * The shape of configuration data, for TypeScript users who write it in
 * code. Data read from a file is checked at run time whatever its type says.
 * Each option means what it means in the policy's own options; durations
 * may be strings with a unit.
 */

/** Any JSON value (a fallback value, a chaos result). */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | readonly JsonValue[]
  | { readonly [key: string]: JsonValue };

/** A backoff as data: `{ "type": "exponential", "initial": "100ms", "max": "5s" }`. */
export type BackoffConfig =
  | { readonly type: 'constant'; readonly ms: Duration; readonly jitter?: Jitter }
  | {
      readonly type: 'linear';
      readonly initial?: Duration;
      readonly step?: Duration;
      readonly max?: Duration;
      readonly jitter?: Jitter;
    }
  | {
      readonly type: 'exponential';
      readonly initial?: Duration;
      readonly max?: Duration;
      readonly factor?: number;
      readonly jitter?: Jitter;
    }
  | { readonly type: 'decorrelatedJitter'; readonly initial?: Duration; readonly max?: Duration };

/** `retry` as data. */
export interface RetryConfig {
  /** Every attempt counts, the first included. Default 3. */
  readonly maxAttempts?: number;
  /** A constant delay, or a backoff. */
  readonly backoff?: Duration | BackoffConfig;
  /** No retry starts (or waits) past this long after the first attempt began. */
  readonly maxDuration?: Duration;
  /** Longest server-requested delay (Retry-After) to honour. Default 60 s. */
  readonly maxRetryAfter?: Duration;
  /** A name for telemetry. Default `<pipeline>.retry`. */
  readonly name?: string;
}

/** `timeout` (per attempt) or `totalTimeout` as data: a duration, or options. */
export type TimeoutConfig =
  | Duration
  | { readonly ms: Duration; readonly strategy?: TimeoutStrategy; readonly name?: string };

/** `fallback` as data: a JSON value and/or the last known good result. A function value comes from code. */
export interface FallbackConfig {
  /** The substitute result. */
  readonly value?: JsonValue;
  /** Serve the last successful result while younger than `ttl`. */
  readonly lastKnownGood?: { readonly ttl: Duration };
  /** A name for telemetry. Default `<pipeline>.fallback`. */
  readonly name?: string;
}

/** `circuitBreaker` as data. */
export interface CircuitBreakerConfig {
  /** Opens when at least this share of the calls in the window failed. Default 0.5. */
  readonly failureRate?: number;
  /** The calls rates are computed over. Default `{ type: 'count', size: 100 }`. */
  readonly window?:
    | { readonly type: 'count'; readonly size?: number }
    | { readonly type: 'time'; readonly duration: Duration; readonly buckets?: number };
  /** Calls the window must hold before a rate can open the breaker. Default 20. */
  readonly minimumCalls?: number;
  /** Opens after this many failures in a row. */
  readonly consecutiveFailures?: number;
  /** Opens when at least this share of the calls were slower than `slowCallDuration`. Default 1. */
  readonly slowCallRate?: number;
  /** A call longer than this is slow. */
  readonly slowCallDuration?: Duration;
  /** How long the breaker stays open: a duration, or a backoff so repeated opens wait longer. Default 30 s. */
  readonly openFor?: Duration | BackoffConfig;
  /** Probe calls let through while half-open. Default 1. */
  readonly halfOpenCalls?: number;
  /** State saved by `snapshot()` to start from. */
  readonly initialState?: CircuitBreakerSnapshot;
  /** A name for telemetry. Default `<pipeline>.circuitBreaker`. */
  readonly name?: string;
}

/** `bulkhead` as data: a limit, or options. */
export type BulkheadConfig =
  | number
  | {
      readonly limit: number;
      readonly queue?: number | 'Infinity';
      readonly queueTimeout?: Duration;
      readonly name?: string;
    };

/** `rateLimit` as data. */
export type RateLimitConfig = (
  | { readonly type: 'tokenBucket'; readonly rate: number; readonly per?: Duration; readonly burst?: number }
  | { readonly type: 'slidingWindow'; readonly limit: number; readonly window: Duration }
) & {
  readonly mode?: RateLimitMode;
  readonly maxWait?: Duration;
  readonly cost?: number;
  readonly name?: string;
};

/** `hedge` as data. */
export interface HedgeConfig {
  /** How long an attempt may run before the next starts: a duration, or a latency quantile like `"p95"`. */
  readonly delay: Duration | HedgeQuantile;
  /** Extra attempts at most. Default 1. */
  readonly maxHedged?: number;
  /** With a quantile delay: latencies needed before it is trusted. Default 20. */
  readonly minSamples?: number;
  /** With a quantile delay: the delay used until `minSamples` latencies were seen. */
  readonly fallbackDelay?: Duration;
  /** With a quantile delay: recent latencies kept. Default 1000. */
  readonly sampleSize?: number;
  /** With a quantile delay: the shortest delay the estimate may give. Default 1 ms. */
  readonly minDelay?: Duration;
  /** A name for telemetry. Default `<pipeline>.hedge`. */
  readonly name?: string;
}

/** `throttle` as data. */
export interface ThrottleConfig {
  /** Requests per accepted one tolerated before shedding. Default 2. */
  readonly k?: number;
  /** The sliding window. Default 2 minutes. */
  readonly window?: Duration;
  /** A name for telemetry. Default `<pipeline>.throttle`. */
  readonly name?: string;
}

/** `adaptiveConcurrency` as data. */
export interface AdaptiveConcurrencyConfig {
  /** `gradient` (default) or `aimd`. */
  readonly algorithm?: AdaptiveAlgorithm;
  /** The limit before any measurement. Default 20. */
  readonly initialLimit?: number;
  /** The limit never goes below this. Default 1. */
  readonly minLimit?: number;
  /** The limit never goes above this. Default 200. */
  readonly maxLimit?: number;
  /** Most calls waiting for a slot. Default 0. */
  readonly queue?: number | 'Infinity';
  /** Longest wait in the queue. */
  readonly queueTimeout?: Duration;
  /** `aimd`: the multiplier applied on overload. Default 0.9. */
  readonly backoffRatio?: number;
  /** `aimd`: a success slower than this counts as overload. */
  readonly latencyThreshold?: Duration;
  /** `gradient`: how much slower than the baseline the recent latency may be. Default 1.25. */
  readonly tolerance?: number;
  /** `gradient`: weight of each new estimate. Default 0.2. */
  readonly smoothing?: number;
  /** A name for telemetry. Default `<pipeline>.adaptiveConcurrency`. */
  readonly name?: string;
}

/** `chaos` as data: any of the three strategies, layered latency › fault › result. */
export interface ChaosConfig {
  /** Delays a `rate` share of calls by `ms`. */
  readonly latency?: {
    readonly rate: number;
    readonly ms: Duration;
    readonly enabled?: boolean;
    readonly name?: string;
  };
  /** Throws a `ChaosError` for a `rate` share of calls. */
  readonly fault?: { readonly rate: number; readonly enabled?: boolean; readonly name?: string };
  /** Returns `value` for a `rate` share of calls. */
  readonly result?: {
    readonly rate: number;
    readonly value: JsonValue;
    readonly enabled?: boolean;
    readonly name?: string;
  };
}

/** A pipeline's own retry budget, as data. */
export interface RetryBudgetConfig {
  /** Retries allowed per first attempt in the window. Default 0.2. */
  readonly ratio?: number;
  /** Retries always allowed per second of window. Default 10. */
  readonly minPerSecond?: number;
  /** How far back attempts and retries count. Default 10 s. */
  readonly window?: Duration;
  /** A name for telemetry. Default `<pipeline>.retryBudget`. */
  readonly name?: string;
}

/** Policies that keep state per key. */
export type KeyableKey =
  | 'rateLimit'
  | 'hedge'
  | 'circuitBreaker'
  | 'throttle'
  | 'bulkhead'
  | 'adaptiveConcurrency';

/** `keyed` as data: the listed policies are built once per call key (`execute(fn, { key })`). */
export interface KeyedConfig {
  /** The policies to build once per key. */
  readonly policies: readonly KeyableKey[];
  /** Most keys kept at once. Default 1000. */
  readonly maxKeys?: number;
  /** A key unused this long is evicted. Default 5 minutes. */
  readonly idleTtl?: Duration;
  /** Prefix of the keyed policies' names. Default: the pipeline's name. */
  readonly name?: string;
}

/** One named pipeline as data. */
export interface PipelineConfig {
  /** The order of the policies, outermost first. Default: `DEFAULT_ORDER`. */
  readonly order?: readonly LayerKey[];
  /** Degrades whatever failed inside. Outermost by default. */
  readonly fallback?: FallbackConfig;
  /** Limits the rate of calls, before anything else is spent. */
  readonly rateLimit?: RateLimitConfig;
  /** Bounds the whole call, every attempt and backoff wait included. */
  readonly totalTimeout?: TimeoutConfig;
  /** Re-runs failed attempts. */
  readonly retry?: RetryConfig;
  /** Starts another attempt when one is slow. */
  readonly hedge?: HedgeConfig;
  /** Fails fast while the dependency is down; counts every attempt. */
  readonly circuitBreaker?: CircuitBreakerConfig;
  /** Client-side adaptive throttling. */
  readonly throttle?: ThrottleConfig;
  /** Bounds each attempt. */
  readonly timeout?: TimeoutConfig;
  /** Limits the attempts running at once. */
  readonly bulkhead?: BulkheadConfig;
  /** A concurrency limit that follows measured latency. */
  readonly adaptiveConcurrency?: AdaptiveConcurrencyConfig;
  /** Fault injection, innermost. */
  readonly chaos?: ChaosConfig;
  /** A budget for this pipeline's retry and hedge, or the name of a pipeline whose budget to share. */
  readonly retryBudget?: RetryBudgetConfig | string;
  /** Policies to build once per call key. */
  readonly keyed?: KeyedConfig;
}

/** A whole configuration: pipelines by name, and optionally the `$schema` an editor reads. */
export interface RegistryConfig {
  /** The JSON Schema an editor reads for completion; ignored by the registry. */
  readonly $schema?: string;
  readonly [pipeline: string]: PipelineConfig | string | undefined;
}

/** Options given in code for one pipeline, per policy; merged into the sections its data configures. */
export interface CodePipelineOptions {
  /** Code options of `fallback`. */
  readonly fallback?: Partial<FallbackOptions>;
  /** Code options of `rateLimit`. */
  readonly rateLimit?: Partial<RateLimitCommonOptions>;
  /** Code options of `totalTimeout`. */
  readonly totalTimeout?: Partial<TimeoutOptions>;
  /** Code options of `retry`. */
  readonly retry?: Partial<RetryOptions>;
  /** Code options of `hedge`. */
  readonly hedge?: Partial<HedgeOptions>;
  /** Code options of `circuitBreaker`. */
  readonly circuitBreaker?: Partial<CircuitBreakerOptions>;
  /** Code options of `throttle`. */
  readonly throttle?: Partial<ThrottleOptions>;
  /** Code options of `timeout`. */
  readonly timeout?: Partial<TimeoutOptions>;
  /** Code options of `bulkhead`. */
  readonly bulkhead?: Partial<BulkheadOptions>;
  /** Code options of `adaptiveConcurrency`. */
  readonly adaptiveConcurrency?: Partial<AdaptiveConcurrencyOptions>;
  /** Code options of `chaos`. */
  readonly chaos?: {
    readonly latency?: Partial<ChaosLatencyOptions>;
    readonly fault?: Partial<ChaosFaultOptions>;
    readonly result?: Partial<ChaosResultOptions>;
  };
  /** Code options of `retryBudget`. */
  readonly retryBudget?: Partial<RetryBudgetOptions>;
  /** Code options of `keyed`. */
  readonly keyed?: Partial<KeyedOptions>;
}

/** Options given in code, by pipeline name. */
export type CodeConfig = Readonly<Record<string, CodePipelineOptions>>;
