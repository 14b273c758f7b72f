/**
 * The recommended bulwark configuration (docs/recommended-config.md), as the
 * fault-outcome scenarios measure it. ONE configuration for every scenario:
 * nothing here knows which incident is running.
 *
 * The code between the `recommended:begin` and `recommended:end` markers is
 * copied verbatim into docs/recommended-config.md (a test keeps them equal).
 */
import {
  adaptiveConcurrency,
  backoff,
  circuitBreaker,
  type Pipeline,
  pipeline,
  retry,
  retryBudget,
  timeout,
} from '../../../src/index.js';

/** One client's pipeline: build one per dependency (and per process), share it between calls. */
export function recommendedPipeline(): Pipeline {
  // recommended:begin
  const policy = pipeline(
    // At most 4 attempts, and retries within 20 % of first attempts (+ 10/s):
    // retries can never multiply the load on a struggling dependency.
    retry({
      maxAttempts: 4,
      backoff: backoff.exponential({ initial: 100, max: 1_000, jitter: 'equal' }),
      budget: retryBudget({ ratio: 0.2, minPerSecond: 10 }),
    }),
    // Fails fast while the dependency is down: opens after 20 failures in a
    // row, or when half of the calls of the last 5 s failed (once 20 were
    // seen); lets one probe through after 1 s.
    circuitBreaker({
      consecutiveFailures: 20,
      failureRate: 0.5,
      minimumCalls: 20,
      window: { type: 'time', duration: 5_000 },
      openFor: 1_000,
      halfOpenCalls: 1,
    }),
    // Keeps only as many calls in flight as the dependency serves without
    // queueing: the limit grows while calls succeed and shrinks on a timeout
    // or a call slower than 300 ms. Calls over it wait up to 100 ms, then
    // are rejected at once (BulkheadFullError, which retry does not retry).
    adaptiveConcurrency({
      algorithm: 'aimd',
      initialLimit: 20,
      maxLimit: 50,
      latencyThreshold: 300,
      queue: 20,
      queueTimeout: 100,
    }),
    // Each attempt gets 500 ms; the caller's deadline (execute's signal) bounds the whole call.
    timeout(500),
  );
  // recommended:end
  return policy;
}
