/**
 * Breaker, rate limit and concurrency shared across instances through Redis.
 *
 * @module bulwark/redis
 */
export * from '../../../src/integrations/redis/index.js';
