/**
 * Base class of every error bulwark raises itself. `code` is stable across
 * releases, so callers and dashboards can match on it instead of on messages.
 */
export class ResilienceError extends Error {
  /** Stable machine-readable code, e.g. `ERR_TIMEOUT`. */
  readonly code: string;
  /**
   * Whether trying again right away can help. `retry` skips errors that say
   * `false` (an open breaker, a full bulkhead), since retrying them only adds load.
   */
  readonly retryable: boolean;

  constructor(code: string, message: string, options?: { cause?: unknown; retryable?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options?.retryable ?? true;
  }
}

/** A `timeout` policy's own deadline passed before the call settled. */
export class TimeoutError extends ResilienceError {
  /** The deadline that passed, in milliseconds. */
  readonly timeout: number;
  constructor(timeout: number, options?: { cause?: unknown }) {
    super('ERR_TIMEOUT', `Operation timed out after ${timeout} ms`, options);
    this.timeout = timeout;
  }
}

/** The circuit breaker is open (or isolated, or its half-open probes are taken). */
export class CircuitOpenError extends ResilienceError {
  /** Milliseconds until the breaker will admit a probe again (0 when unknown). */
  readonly retryAfter: number;
  /** The breaker state that rejected the call. */
  readonly state: 'open' | 'halfOpen' | 'isolated';
  constructor(state: 'open' | 'halfOpen' | 'isolated', retryAfter: number) {
    super('ERR_CIRCUIT_OPEN', `Circuit is ${state}; rejected without calling`, { retryable: false });
    this.state = state;
    this.retryAfter = retryAfter;
  }
}

/** A bulkhead or concurrency limit had no free slot and no room in its queue. */
export class BulkheadFullError extends ResilienceError {
  constructor(message = 'Bulkhead is full; rejected without calling', options?: { cause?: unknown }) {
    super('ERR_BULKHEAD_FULL', message, { ...options, retryable: false });
  }
}

/** A rate limiter had no permit for the call. */
export class RateLimitedError extends ResilienceError {
  /** Milliseconds until a permit is expected to be available. */
  readonly retryAfter: number;
  constructor(retryAfter: number, message = `Rate limit exceeded; retry after ${retryAfter} ms`) {
    super('ERR_RATE_LIMITED', message);
    this.retryAfter = retryAfter;
  }
}

/** Client-side adaptive throttling shed the call locally. */
export class ThrottledError extends ResilienceError {
  constructor(message = 'Request throttled locally: the backend is rejecting most requests') {
    super('ERR_THROTTLED', message, { retryable: false });
  }
}

/** The default error thrown by `chaos.fault`. */
export class ChaosError extends ResilienceError {
  constructor(message = 'Injected fault (chaos)') {
    super('ERR_CHAOS', message);
  }
}

/**
 * Whether an error says that trying again right away is pointless.
 * Errors other than bulwark's own are assumed retryable.
 */
export function isRetryable(error: unknown): boolean {
  return !(error instanceof ResilienceError) || error.retryable;
}

/**
 * Reads a `retryAfter` in milliseconds from an error or a result, if it has a
 * usable one (a finite number ≥ 0).
 */
export function retryAfterOf(value: unknown): number | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const retryAfter = (value as { retryAfter?: unknown }).retryAfter;
  return typeof retryAfter === 'number' && retryAfter >= 0 && Number.isFinite(retryAfter)
    ? retryAfter
    : undefined;
}
