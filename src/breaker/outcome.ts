import {
  BulkheadFullError,
  CircuitOpenError,
  RateLimitedError,
  ResilienceError,
  ThrottledError,
} from '../core/errors.js';

/**
 * The token of a call admitted while slow calls are tracked: its generation
 * and when it started. Otherwise the token is the generation alone.
 * @internal
 */
export class Started {
  constructor(
    /** The breaker state's generation (`sharedCircuitBreaker`: negative for a half-open probe). */
    readonly gen: number,
    readonly start: number,
  ) {}
}

/**
 * Errors that mean a layer inside the breaker refused the call locally, so
 * the dependency was never asked: they say nothing about its health.
 * @internal
 */
export function isLocalRejection(error: unknown): boolean {
  return (
    error instanceof ResilienceError &&
    (error instanceof CircuitOpenError ||
      error instanceof BulkheadFullError ||
      error instanceof RateLimitedError ||
      error instanceof ThrottledError)
  );
}
