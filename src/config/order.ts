/**
 * The pipeline keys that become policies, in the conventional order,
 * outermost first. It follows Microsoft's standard HTTP resilience pipeline
 * (rate limiter › total timeout › retry › circuit breaker › attempt timeout)
 * and adds bulwark's other strategies where they act:
 *
 * - `fallback` outermost: it degrades whatever happened inside, a rate-limit
 *   rejection and a total timeout included.
 * - `rateLimit` before anything is spent: a call over the limit is rejected
 *   without starting a timeout or a retry (a retry of a local rejection only
 *   adds load).
 * - `totalTimeout` bounds the whole call: every attempt and every backoff wait.
 * - `retry`, then `hedge`: each retry may be hedged; each attempt of either
 *   passes through everything below.
 * - `circuitBreaker` inside them: it counts every attempt, and once open its
 *   rejection (not retryable) stops the retries at once.
 * - `throttle` inside the breaker: it sees only the backend's real answers.
 * - `timeout` per attempt: a timed-out attempt is a failure the breaker counts
 *   and the retry retries.
 * - `bulkhead`, then `adaptiveConcurrency`: a slot is held only while an
 *   attempt runs, never during a backoff wait; the adaptive limit measures the
 *   dependency's own latency, and sees the enclosing timeout's aborts as drops.
 * - `chaos` innermost: injected faults look like the dependency's, so every
 *   policy reacts to them as to the real thing.
 */
export const DEFAULT_ORDER = [
  'fallback',
  'rateLimit',
  'totalTimeout',
  'retry',
  'hedge',
  'circuitBreaker',
  'throttle',
  'timeout',
  'bulkhead',
  'adaptiveConcurrency',
  'chaos',
] as const;

/** A pipeline key that becomes a policy (see {@link DEFAULT_ORDER}). */
export type LayerKey = (typeof DEFAULT_ORDER)[number];

/** Policies that keep state per key when listed in `keyed.policies`. @internal */
export const KEYABLE: readonly LayerKey[] = [
  'rateLimit',
  'hedge',
  'circuitBreaker',
  'throttle',
  'bulkhead',
  'adaptiveConcurrency',
];

/**
 * {@link DEFAULT_ORDER} followed by `extra`. A function, called with a pure annotation, because a
 * bundler must keep a top-level spread (it runs an iterator) even when nothing uses the result.
 * @internal
 */
export function withLayerKeys(...extra: string[]): readonly string[] {
  return [...DEFAULT_ORDER, ...extra];
}

/** Every key a pipeline section may hold. @internal */
export const PIPELINE_KEYS: readonly string[] = /* @__PURE__ */ withLayerKeys(
  'order',
  'retryBudget',
  'keyed',
);
