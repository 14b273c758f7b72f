// Option checks: no Redis needed (a client that never connects).
import { Redis } from 'ioredis';
import { afterAll, describe, expect, expectTypeOf, it } from 'vitest';
import { bulkhead, pipeline, retry, timeout } from '../../../src/index.js';
import {
  DISTRIBUTED_BULKHEAD_OPTIONS,
  DISTRIBUTED_RATE_LIMIT_OPTIONS,
  type RedisClient,
  SHARED_CIRCUIT_BREAKER_OPTIONS,
  type SharedCircuitBreakerOptions,
  distributedBulkhead,
  distributedRateLimit,
  sharedCircuitBreaker,
} from '../../../src/integrations/redis/index.js';

const redis = new Redis({ lazyConnect: true });
afterAll(() => redis.disconnect());

// ioredis' Redis fits the structural client type bulwark/redis asks for.
const asClient: RedisClient = redis;

describe('bulwark/redis options', () => {
  it('accepts an ioredis client as is', () => {
    expect(() => distributedRateLimit({ redis: asClient, key: 'k', rate: 1 })).not.toThrow();
  });

  it('rejects a missing or wrong redis client', () => {
    expect(() => distributedRateLimit({ key: 'k', rate: 1 } as never)).toThrow(
      /distributedRateLimit: redis must be an ioredis client/,
    );
    expect(() => distributedBulkhead({ redis: {} as never, key: 'k', limit: 1 })).toThrow(TypeError);
  });

  it('rejects unknown options, naming them', () => {
    expect(() => sharedCircuitBreaker({ redis, key: 'k', failureRatio: 0.5 } as never)).toThrow(
      /sharedCircuitBreaker: unknown option "failureRatio"/,
    );
    expect(() => distributedBulkhead({ redis, key: 'k', limit: 1, queue: 5 } as never)).toThrow(
      /unknown option "queue"/,
    );
  });

  it('validates every number with the policy, option and value in the message', () => {
    expect(() => distributedRateLimit({ redis, key: 'k', rate: 0 })).toThrow(
      'distributedRateLimit: rate must be a number > 0, got 0',
    );
    expect(() => distributedRateLimit({ redis, key: 'k', rate: 1, burst: 0.5 })).toThrow(/burst must be/);
    expect(() => distributedRateLimit({ redis, key: 'k', rate: 1, maxWait: -1 })).toThrow(/maxWait/);
    expect(() => distributedRateLimit({ redis, key: 'k', rate: 1, mode: 'queue' as never })).toThrow(
      /mode must be one of/,
    );
    expect(() => distributedRateLimit({ redis, key: 'k', rate: 5, cost: 6 })).toThrow(
      'distributedRateLimit: cost must be ≤ burst (5) or no call could ever pass, got 6',
    );
    expect(() => distributedRateLimit({ redis, key: 'k', rate: 5, cost: 0 })).toThrow(
      /cost must be an integer ≥ 1/,
    );
    expect(() => distributedBulkhead({ redis, key: 'k', limit: 2.5 })).toThrow(
      'distributedBulkhead: limit must be an integer ≥ 1, got 2.5',
    );
    expect(() => distributedBulkhead({ redis, key: 'k', limit: 1, leaseTtl: 1 })).toThrow(/leaseTtl/);
    expect(() => sharedCircuitBreaker({ redis, key: 'k', failureRate: 1.5 })).toThrow(
      'sharedCircuitBreaker: failureRate must be a number > 0 and ≤ 1, got 1.5',
    );
    expect(() => sharedCircuitBreaker({ redis, key: 'k', redisTimeout: 0 })).toThrow(/redisTimeout/);
    expect(() => sharedCircuitBreaker({ redis, key: 'k', syncInterval: 0 })).toThrow(/syncInterval/);
    expect(() => sharedCircuitBreaker({ redis, key: 'k', openFor: -1 })).toThrow(/openFor/);
  });

  it('validates key, prefix, onRedisError and local', () => {
    expect(() => distributedRateLimit({ redis, key: '', rate: 1 })).toThrow(/key must be a non-empty string/);
    expect(() => distributedRateLimit({ redis, rate: 1 } as never)).toThrow(/key must be a non-empty string/);
    expect(() => distributedRateLimit({ redis, key: 'k', rate: 1, prefix: 3 as never })).toThrow(
      /prefix must be a string/,
    );
    expect(() => distributedRateLimit({ redis, key: 'k', rate: 1, onRedisError: 'ignore' as never })).toThrow(
      /onRedisError must be one of "failOpen", "failClosed"/,
    );
    expect(() => distributedBulkhead({ redis, key: 'k', limit: 1, local: retry() })).toThrow(
      /local must be a single step policy/,
    );
    expect(() => distributedBulkhead({ redis, key: 'k', limit: 1, local: timeout(10) })).toThrow(
      /local must be a single step policy/,
    );
    expect(() => distributedBulkhead({ redis, key: 'k', limit: 1, local: pipeline(bulkhead(1)) })).toThrow(
      /local must be a single step policy/,
    );
    expect(() =>
      distributedBulkhead({ redis, key: 'k', limit: 1, local: bulkhead(1), onRedisError: 'failClosed' }),
    ).toThrow(/local is used only with onRedisError 'failOpen'/);
  });

  it('validates the breaker window and the slow-call pair', () => {
    expect(() => sharedCircuitBreaker({ redis, key: 'k', window: { type: 'sliding' } as never })).toThrow(
      /window.type must be one of/,
    );
    expect(() => sharedCircuitBreaker({ redis, key: 'k', window: { type: 'count', size: 0 } })).toThrow(
      /window.size must be an integer ≥ 1/,
    );
    expect(() =>
      sharedCircuitBreaker({ redis, key: 'k', window: { type: 'count', size: 10, buckets: 2 } as never }),
    ).toThrow(/unknown option "window.buckets"/);
    expect(() =>
      sharedCircuitBreaker({ redis, key: 'k', window: { type: 'time', duration: 1_000, buckets: 0 } }),
    ).toThrow(/window.buckets/);
    expect(() => sharedCircuitBreaker({ redis, key: 'k', window: { type: 'count', size: 20_000 } })).toThrow(
      /window.size must be an integer ≥ 1 and ≤ 10000/,
    );
    expect(() => sharedCircuitBreaker({ redis, key: 'k', slowCallRate: 0.5 })).toThrow(
      'sharedCircuitBreaker: slowCallRate needs slowCallDuration (how slow is slow?)',
    );
    expect(() =>
      sharedCircuitBreaker({ redis, key: 'k', window: { type: 'count', size: 10 }, minimumCalls: 11 }),
    ).toThrow(/minimumCalls must be ≤ window.size \(10\)/);
    expect(() => sharedCircuitBreaker({ redis, key: 'k', consecutiveFailures: 3, minimumCalls: 5 })).toThrow(
      /window and minimumCalls need a rate trigger/,
    );
    const breaker = sharedCircuitBreaker({ redis, key: 'k', window: { type: 'time', duration: 5 } });
    expect(breaker.window).toEqual({ type: 'time', duration: 5, buckets: 5 });
  });

  it('exports the option lists for config validation', () => {
    expect(DISTRIBUTED_RATE_LIMIT_OPTIONS).toEqual(
      expect.arrayContaining(['rate', 'per', 'burst', 'mode', 'maxWait', 'cost']),
    );
    expect(DISTRIBUTED_BULKHEAD_OPTIONS).toContain('leaseTtl');
    expect(SHARED_CIRCUIT_BREAKER_OPTIONS).toContain('syncInterval');
    for (const list of [
      DISTRIBUTED_RATE_LIMIT_OPTIONS,
      DISTRIBUTED_BULKHEAD_OPTIONS,
      SHARED_CIRCUIT_BREAKER_OPTIONS,
    ]) {
      expect(list).toEqual(
        expect.arrayContaining(['redis', 'key', 'prefix', 'redisTimeout', 'onRedisError']),
      );
    }
  });

  it('lists exactly the breaker options its type declares (checked by tsc)', () => {
    // The type takes its breaker options from circuitBreaker's: one added there must be added here too.
    expectTypeOf<keyof SharedCircuitBreakerOptions>().toEqualTypeOf<
      (typeof SHARED_CIRCUIT_BREAKER_OPTIONS)[number]
    >();
  });

  it('applies documented defaults', () => {
    const limiter = distributedRateLimit({ redis, key: 'k', rate: 50 });
    expect(limiter).toMatchObject({
      rate: 50,
      per: 1_000,
      burst: 50,
      mode: 'reject',
      maxWait: Number.POSITIVE_INFINITY,
      onRedisError: 'failOpen',
    });
    const slots = distributedBulkhead({ redis, key: 'k', limit: 3 });
    expect(slots).toMatchObject({ limit: 3, leaseTtl: 10_000, onRedisError: 'failOpen' });
    const breaker = sharedCircuitBreaker({ redis, key: 'k' });
    expect(breaker).toMatchObject({
      failureRate: 0.5,
      minimumCalls: 20,
      window: { type: 'count', size: 100 },
      halfOpenCalls: 1,
      syncInterval: 100,
      maxBatch: 100,
    });
    expect(breaker.state).toBe('closed');
    expect(breaker._health()).toMatchObject({ status: 'ok', state: 'closed' });
    // As circuitBreaker: only consecutiveFailures given turns the failure rate off; a slow-call duration
    // alone turns on a slow-call rate of 1; a small count window lowers minimumCalls to its size.
    expect(sharedCircuitBreaker({ redis, key: 'k', consecutiveFailures: 5 }).failureRate).toBe(0);
    expect(sharedCircuitBreaker({ redis, key: 'k', slowCallDuration: 100 }).slowCallRate).toBe(1);
    expect(sharedCircuitBreaker({ redis, key: 'k', window: { type: 'count', size: 8 } }).minimumCalls).toBe(
      8,
    );
  });
});

describe('bulwark/redis options, missing', () => {
  it('each factory rejects a call without options', () => {
    expect(() => distributedRateLimit(undefined as never)).toThrow(/distributedRateLimit: expected options/);
    expect(() => distributedBulkhead(undefined as never)).toThrow(/distributedBulkhead: expected options/);
    expect(() => sharedCircuitBreaker(undefined as never)).toThrow(/sharedCircuitBreaker: expected options/);
  });
});
