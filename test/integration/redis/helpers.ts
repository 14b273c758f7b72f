// Shared by the Redis integration tests: the run's redis-server (test/setup/redis.ts) and client bookkeeping.
import { Redis, type RedisOptions } from 'ioredis';
import { afterAll, describe, inject } from 'vitest';
import {
  type DistributedBulkheadOptions,
  type DistributedRateLimitOptions,
  type SharedCircuitBreakerOptions,
  distributedBulkhead,
  distributedRateLimit,
  sharedCircuitBreaker,
} from '../../../src/integrations/redis/index.js';

/** The run's redis-server, or '' when none is installed (the tests then skip). */
export const redisUrl: string = inject('redisUrl');

/** `describe` when a Redis server is available, `describe.skip` otherwise. */
export const describeRedis: typeof describe.skip = redisUrl === '' ? describe.skip : describe;

const clients: Redis[] = [];

/** A new ioredis client (one per simulated instance); disconnected after the file's tests. */
export function connect(url = redisUrl, options: RedisOptions = {}): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: 1, ...options });
  // A test that stops its server sees connection errors on purpose.
  client.on('error', () => {});
  clients.push(client);
  return client;
}

afterAll(() => {
  for (const client of clients.splice(0)) client.disconnect();
});

let counter = 0;
/** A key prefix no other test (or earlier run) uses. */
export function freshPrefix(): string {
  counter += 1;
  return `test:${process.pid}:${Date.now().toString(36)}:${counter}:`;
}

/** Real-time wait, for the few tests that depend on Redis' own clock (keep it short). */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Settles every promise, returning how many fulfilled and the rejections. */
export async function settleAll<T>(
  promises: readonly Promise<T>[],
): Promise<{ fulfilled: number; rejected: unknown[] }> {
  const results = await Promise.allSettled(promises);
  const rejected = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
  return { fulfilled: results.length - rejected.length, rejected };
}

// The policies with a generous redisTimeout by default: these tests are about atomicity and sharing,
// not timeouts (test/integration/redis/outage.test.ts is), and a loaded machine may take more than
// the default 100 ms to connect a fresh client.
const patient = { redisTimeout: 5_000 };

/** `distributedRateLimit` with a 5 s redisTimeout unless given. */
export const rateLimitOf = (options: DistributedRateLimitOptions) =>
  distributedRateLimit({ ...patient, ...options });
/** `distributedBulkhead` with a 5 s redisTimeout unless given. */
export const bulkheadOf = (options: DistributedBulkheadOptions) =>
  distributedBulkhead({ ...patient, ...options });
/** `sharedCircuitBreaker` with a 5 s redisTimeout unless given. */
export const breakerOf = (options: SharedCircuitBreakerOptions) =>
  sharedCircuitBreaker({ ...patient, ...options });
