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
  type Backoff,
  type Jitter,
  type LinearBackoffOptions,
  type ExponentialBackoffOptions,
  type DecorrelatedJitterOptions,
} from './backoff/backoff.js';
export { retry, RetryPolicy, type RetryOptions, type RetryEvents, type RetryOutcome } from './retry/retry.js';
export {
  timeout,
  TimeoutPolicy,
  type TimeoutOptions,
  type TimeoutEvents,
  type TimeoutStrategy,
} from './timeout/timeout.js';
export { fallback, FallbackPolicy, type FallbackOptions, type FallbackEvents } from './fallback/fallback.js';
