import { ResilienceError } from '../../core/errors.js';

/**
 * Redis did not answer in time (or the client is disconnected) and the policy
 * is configured with `onRedisError: 'failClosed'`: the call is rejected
 * without running rather than run without the shared limit. `cause` holds
 * the Redis error or the timeout.
 */
export class RedisUnavailableError extends ResilienceError {
  /** What the policy was doing with Redis, e.g. `acquire`, `sync`, `take`. */
  readonly operation: string;
  constructor(operation: string, options?: { cause?: unknown }) {
    super(
      'ERR_REDIS_UNAVAILABLE',
      `Redis unavailable during ${operation}; rejected without calling (failClosed)`,
      {
        ...options,
        // Redis outages are usually short: a retry after a backoff may well get through.
        retryable: true,
      },
    );
    this.operation = operation;
  }
}

/** A Redis command did not settle within the policy's `redisTimeout`. */
export class RedisTimeoutError extends ResilienceError {
  /** The `redisTimeout` that passed, in ms. */
  readonly timeout: number;
  constructor(timeout: number) {
    super('ERR_REDIS_TIMEOUT', `Redis did not answer within ${timeout} ms`);
    this.timeout = timeout;
  }
}
