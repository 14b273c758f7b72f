/**
 * The instrument names `instrument()` records, fixed across releases so that
 * dashboards and alerts keep working. Listed with units and attributes in
 * docs/telemetry.md.
 */
export const METRIC_NAMES = {
  /** Counter `{event}`: every policy event except `success` and `failure`. */
  events: 'bulwark.policy.events',
  /** Histogram `s`: one attempt of the work (each retry or hedge is its own attempt). */
  attemptDuration: 'bulwark.attempt.duration',
  /** Histogram `s`: one whole execution through the pipeline, waits and retries included. */
  pipelineDuration: 'bulwark.pipeline.duration',
  /** Gauge `{state}`: circuit breaker state, 0 closed, 1 half-open, 2 open, 3 isolated. */
  breakerState: 'bulwark.circuit_breaker.state',
  /** Gauge `{status}`: a policy's health, 0 ok, 1 degraded, 2 down. */
  policyHealth: 'bulwark.policy.health',
  /** Gauge `{call}`: calls running inside a concurrency-limiting policy (bulkhead, adaptive concurrency). */
  concurrencyActive: 'bulwark.concurrency.active',
  /** Gauge `{call}`: that policy's current concurrency limit (fixed for a bulkhead, moving for an adaptive one). */
  concurrencyLimit: 'bulwark.concurrency.limit',
  /** Gauge `{call}`: calls waiting in a policy's queue (bulkhead, adaptive concurrency, rate limiter in wait mode). */
  queueLength: 'bulwark.queue.length',
  /** Gauge `{permit}`: permits a rate limiter could hand out now. */
  rateLimitAvailable: 'bulwark.rate_limit.available',
  /** Gauge `1`: the probability a client-side throttle rejects a call now (0 to 1). */
  throttleProbability: 'bulwark.throttle.probability',
} as const;

/** The attribute names `instrument()` sets on metrics, spans and span events. */
export const ATTRIBUTE_NAMES = {
  /** The `name` given to `instrument()`. */
  pipeline: 'bulwark.pipeline.name',
  /** The emitting or reported policy's kind, e.g. `retry`, `circuitBreaker`. */
  policyKind: 'bulwark.policy.kind',
  /** The emitting or reported policy's name (its kind unless named). */
  policyName: 'bulwark.policy.name',
  /** The event, e.g. `retry`, `open`, `reject`. */
  event: 'bulwark.event.name',
  /** `success` or `failure`, on the duration histograms. */
  outcome: 'bulwark.outcome',
  /** The 1-based attempt number, on attempt spans only (kept off metrics for cardinality). */
  attempt: 'bulwark.attempt.number',
  /** OpenTelemetry's `error.type`: the error's class name (or its `code` for a plain `Error`). */
  errorType: 'error.type',
} as const;

/** Prefix of the span-event attributes copied from an event's payload, e.g. `bulwark.event.retry_after`. */
export const EVENT_DETAIL_PREFIX = 'bulwark.event.';
