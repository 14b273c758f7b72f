// Public surface of `bulwark/redis`: state shared across instances through Redis.
// ioredis is imported nowhere at runtime: the user passes a client.
export type { RedisClient } from './client.js';
export { RedisUnavailableError, RedisTimeoutError } from './errors.js';
export {
  REDIS_POLICY_OPTIONS,
  type RedisErrorMode,
  type RedisPolicyOptions,
  type RedisPolicyEvents,
  type RedisStats,
} from './shared.js';
export { sharedCircuitBreaker, SharedCircuitBreakerPolicy } from './breaker.js';
export {
  SHARED_CIRCUIT_BREAKER_OPTIONS,
  type SharedCircuitBreakerOptions,
  type SharedCircuitBreakerEvents,
  type SharedCircuitBreakerStats,
  type SharedBreakerState,
  type SharedBreakerOpenReason,
  type SharedBreakerWindow,
} from './breaker-options.js';
export {
  distributedRateLimit,
  DistributedRateLimitPolicy,
  DISTRIBUTED_RATE_LIMIT_OPTIONS,
  type DistributedRateLimitOptions,
  type DistributedRateLimitEvents,
  type DistributedRateLimitStats,
} from './rate-limit.js';
export {
  distributedBulkhead,
  DistributedBulkheadPolicy,
  DISTRIBUTED_BULKHEAD_OPTIONS,
  type DistributedBulkheadOptions,
  type DistributedBulkheadEvents,
  type DistributedBulkheadStats,
} from './bulkhead.js';
