// Public surface of `bulwark`: re-exports only.
export type { Context, ExecuteOptions } from './core/context.js';
export type { Clock, TimerHandle } from './core/clock.js';
export { systemClock } from './core/clock.js';
export type { Listener, AnyListener, EventSource } from './core/events.js';
export { setListenerErrorHandler } from './core/events.js';
export type { Policy, PolicyEvents, PolicyHealth, Work } from './core/policy.js';
export { PolicyBase } from './core/policy.js';
export { pipeline, Pipeline, type PipelineEvent, type PipelineOptions } from './core/pipeline.js';
export {
  ResilienceError,
  TimeoutError,
  CircuitOpenError,
  BulkheadFullError,
  RateLimitedError,
  ThrottledError,
  ChaosError,
  isRetryable,
} from './core/errors.js';
export type { RetryBudgetContract } from './core/budget.js';
export {
  backoff,
  BACKOFF_OPTIONS,
  type Backoff,
  type Jitter,
  type LinearBackoffOptions,
  type ExponentialBackoffOptions,
  type DecorrelatedJitterOptions,
} from './backoff/backoff.js';
export {
  retry,
  RetryPolicy,
  RETRY_OPTIONS,
  type RetryOptions,
  type RetryEvents,
  type RetryOutcome,
} from './retry/retry.js';
export {
  timeout,
  TimeoutPolicy,
  TIMEOUT_OPTIONS,
  type TimeoutOptions,
  type TimeoutEvents,
  type TimeoutStrategy,
} from './timeout/timeout.js';
export {
  fallback,
  FallbackPolicy,
  FALLBACK_OPTIONS,
  type FallbackOptions,
  type FallbackEvents,
} from './fallback/fallback.js';
export {
  retryBudget,
  RetryBudget,
  RETRY_BUDGET_OPTIONS,
  type RetryBudgetOptions,
  type RetryBudgetEvents,
  type RetryBudgetStats,
} from './budget/budget.js';
export {
  hedge,
  HedgePolicy,
  HedgeCancelledError,
  HEDGE_OPTIONS,
  type HedgeOptions,
  type HedgeEvents,
  type HedgeStats,
  type HedgeQuantile,
} from './hedge/hedge.js';
export {
  chaos,
  ChaosFaultPolicy,
  ChaosLatencyPolicy,
  ChaosResultPolicy,
  CHAOS_OPTIONS,
  type ChaosOptions,
  type ChaosFaultOptions,
  type ChaosLatencyOptions,
  type ChaosResultOptions,
  type ChaosEvents,
} from './chaos/chaos.js';
export {
  bulkhead,
  BulkheadPolicy,
  BULKHEAD_OPTIONS,
  type BulkheadOptions,
  type BulkheadStats,
  type BulkheadEvents,
} from './bulkhead/bulkhead.js';
export {
  rateLimit,
  RateLimitPolicy,
  RATE_LIMIT_OPTIONS,
  type RateLimitOptions,
  type RateLimitCommonOptions,
  type TokenBucketOptions,
  type SlidingWindowOptions,
  type RateLimitMode,
  type RateLimitStats,
  type RateLimitEvents,
} from './rate-limit/rate-limit.js';
export {
  circuitBreaker,
  CircuitBreakerPolicy,
  type CircuitBreakerEvents,
  type CircuitBreakerStats,
  type CircuitOpenReason,
} from './breaker/breaker.js';
export {
  CIRCUIT_BREAKER_OPTIONS,
  type CircuitBreakerOptions,
  type CircuitBreakerWindow,
} from './breaker/options.js';
export type {
  CircuitBreakerSnapshot,
  CircuitState,
  CountWindowSnapshot,
  TimeWindowSnapshot,
} from './breaker/snapshot.js';
export { keyed, KeyedPolicy, KEYED_OPTIONS, type KeyedOptions, type KeyedEvents } from './keyed/keyed.js';
export {
  adaptiveConcurrency,
  AdaptiveConcurrencyPolicy,
  ADAPTIVE_CONCURRENCY_OPTIONS,
  type AdaptiveAlgorithm,
  type AdaptiveConcurrencyOptions,
  type AdaptiveConcurrencyEvents,
  type LimitChangeReason,
} from './adaptive/adaptive-concurrency.js';
export {
  throttle,
  ThrottlePolicy,
  THROTTLE_OPTIONS,
  type ThrottleOptions,
  type ThrottleEvents,
  type ThrottleStats,
} from './throttle/throttle.js';
export {
  health,
  type HealthReport,
  type HealthEntry,
  type HealthInput,
  type HealthStatus,
} from './health/health.js';
export {
  queueForLater,
  QueueForLater,
  QUEUE_FOR_LATER_OPTIONS,
  type QueueForLaterOptions,
  type QueueForLaterEvents,
  type Submitted,
} from './queue/queue-for-later.js';
export {
  memoryQueue,
  MemoryQueue,
  MEMORY_QUEUE_OPTIONS,
  QueueFullError,
  type DeferredQueue,
  type MemoryQueueOptions,
} from './queue/deferred-queue.js';
