import fc from 'fast-check';
import { expect, it } from 'vitest';
import { RateLimitedError, pipeline, retry } from '../../../src/index.js';
import { connect, describeRedis, freshPrefix, pause, rateLimitOf, settleAll } from './helpers.js';

describeRedis('distributedRateLimit (real Redis)', () => {
  it('shares one limit across instances with separate clients', async () => {
    const prefix = freshPrefix();
    const instances = [connect(), connect(), connect()].map((redis) =>
      rateLimitOf({ redis, key: 'partner-api', prefix, rate: 10, per: 60_000 }),
    );
    const { fulfilled, rejected } = await settleAll(
      Array.from({ length: 30 }, (_, i) => instances[i % 3]!.execute(() => i)),
    );
    expect(fulfilled).toBe(10);
    expect(rejected).toHaveLength(20);
    for (const error of rejected) {
      expect(error).toBeInstanceOf(RateLimitedError);
      // One permit every 6 s: the next is due in about that long.
      expect((error as RateLimitedError).retryAfter).toBeGreaterThan(5_000);
      expect((error as RateLimitedError).retryAfter).toBeLessThanOrEqual(6_000);
    }
  });

  it('admits exactly the burst under 200 concurrent calls from 4 instances', async () => {
    const prefix = freshPrefix();
    const instances = [connect(), connect(), connect(), connect()].map((redis) =>
      rateLimitOf({ redis, key: 'load', prefix, rate: 10, per: 60_000 }),
    );
    let ran = 0;
    const { fulfilled } = await settleAll(
      Array.from({ length: 200 }, (_, i) =>
        instances[i % 4]!.execute(() => {
          ran += 1;
        }),
      ),
    );
    expect(fulfilled).toBe(10);
    expect(ran).toBe(10);
  });

  it('admits exactly min(calls, burst) for any burst, call count and instance count', async () => {
    const clients = [connect(), connect(), connect()];
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 3 }),
        async (burst, calls, instanceCount) => {
          const prefix = freshPrefix();
          const instances = clients
            .slice(0, instanceCount)
            .map((redis) => rateLimitOf({ redis, key: 'p', prefix, rate: 1, per: 60_000, burst }));
          const { fulfilled } = await settleAll(
            Array.from({ length: calls }, (_, i) => instances[i % instanceCount]!.execute(() => i)),
          );
          expect(fulfilled).toBe(Math.min(calls, burst));
        },
      ),
      { numRuns: 15 },
    );
  });

  it('refills at the configured rate on Redis time', async () => {
    const limiter = rateLimitOf({
      redis: connect(),
      key: 'refill',
      prefix: freshPrefix(),
      rate: 20,
      per: 1_000,
      burst: 1,
    });
    await limiter.execute(() => 1);
    const error = await limiter.execute(() => 2).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).retryAfter).toBeGreaterThan(0);
    expect((error as RateLimitedError).retryAfter).toBeLessThanOrEqual(50);
    await pause(60);
    await expect(limiter.execute(() => 3)).resolves.toBe(3);
  });

  it('retryAfter lets a retry policy wait exactly long enough', async () => {
    const limiter = rateLimitOf({
      redis: connect(),
      key: 'retry',
      prefix: freshPrefix(),
      rate: 25,
      per: 1_000,
      burst: 1,
    });
    const policy = pipeline(retry({ maxAttempts: 2, backoff: 1 }), limiter);
    const started = Date.now();
    await policy.execute(() => 'a');
    await expect(policy.execute(() => 'b')).resolves.toBe('b');
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(30);
    expect(elapsed).toBeLessThan(500);
  });

  it('wait mode reserves the permit and waits for it; beyond maxWait it rejects', async () => {
    const limiter = rateLimitOf({
      redis: connect(),
      key: 'wait',
      prefix: freshPrefix(),
      rate: 10,
      per: 1_000,
      burst: 1,
      mode: 'wait',
      maxWait: 150,
    });
    const reasons: string[] = [];
    limiter.on('reject', ({ reason }) => reasons.push(reason));
    const waits: number[] = [];
    limiter.on('wait', (event) => waits.push(event.delay));
    const started = Date.now();
    const finished: number[] = [];
    const { fulfilled, rejected } = await settleAll(
      [0, 1, 2].map((i) =>
        limiter.execute(() => {
          finished.push(Date.now() - started);
          return i;
        }),
      ),
    );
    expect(fulfilled).toBe(2);
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toBeInstanceOf(RateLimitedError);
    expect(reasons).toEqual(['maxWait']);
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeGreaterThan(50);
    expect(waits[0]).toBeLessThanOrEqual(100);
    expect(Math.max(...finished)).toBeGreaterThanOrEqual(50);
  });

  it('an abort while waiting for a reserved permit rejects at once with the reason', async () => {
    const limiter = rateLimitOf({
      redis: connect(),
      key: 'abort',
      prefix: freshPrefix(),
      rate: 1,
      per: 10_000,
      burst: 1,
      mode: 'wait',
    });
    await limiter.execute(() => 1);
    const controller = new AbortController();
    let ran = false;
    const call = limiter.execute(
      () => {
        ran = true;
      },
      { signal: controller.signal },
    );
    await pause(20);
    const started = Date.now();
    controller.abort(new Error('caller left'));
    await expect(call).rejects.toThrow('caller left');
    expect(Date.now() - started).toBeLessThan(50);
    await pause(10);
    expect(ran).toBe(false);
  });

  it('a call takes `cost` permits: a number, or a function of the context', async () => {
    const prefix = freshPrefix();
    const units = rateLimitOf({
      redis: connect(),
      key: 'units',
      prefix,
      rate: 10,
      per: 60_000,
      cost: (ctx) => (ctx.key === 'export' ? 6 : 1),
    });
    await units.execute(() => 'export', { key: 'export' });
    expect(units.stats.available).toBe(4);
    await expect(units.execute(() => 'export', { key: 'export' })).rejects.toBeInstanceOf(RateLimitedError);
    for (let i = 0; i < 4; i++) await units.execute(() => 'small');
    await expect(units.execute(() => 'small')).rejects.toBeInstanceOf(RateLimitedError);
    const fixed = rateLimitOf({ redis: connect(), key: 'fixed', prefix, rate: 10, per: 60_000, cost: 5 });
    await fixed.execute(() => 1);
    await fixed.execute(() => 2);
    await expect(fixed.execute(() => 3)).rejects.toBeInstanceOf(RateLimitedError);
    const broken = rateLimitOf({ redis: connect(), key: 'broken', prefix, rate: 10, cost: () => 11 });
    await expect(broken.execute(() => 1)).rejects.toThrow(
      /cost must be an integer ≥ 1 and ≤ burst \(10\), got 11/,
    );
  });

  it('keeps keys namespaced by prefix and passes user keys only as KEYS', async () => {
    const redis = connect();
    const prefix = freshPrefix();
    const hostile = `x"]]) redis.call('FLUSHALL') --{}'`;
    await redis.set(`${prefix}canary`, 'alive');
    const limiter = rateLimitOf({ redis, key: hostile, prefix, rate: 1, per: 60_000 });
    const other = rateLimitOf({ redis, key: 'other', prefix, rate: 1, per: 60_000 });
    await limiter.execute(() => 1);
    await expect(limiter.execute(() => 2)).rejects.toBeInstanceOf(RateLimitedError);
    // A different key has its own budget.
    await expect(other.execute(() => 3)).resolves.toBe(3);
    expect(await redis.get(`${prefix}canary`)).toBe('alive');
    expect(await redis.exists(`${prefix}rate:{${hostile}}`)).toBe(1);
    // The key expires once the bucket would be full again.
    expect(await redis.pttl(`${prefix}rate:{${hostile}}`)).toBeGreaterThan(0);
  });

  it('emits reject and counts admitted and rejected calls in stats and health', async () => {
    const limiter = rateLimitOf({
      redis: connect(),
      key: 'stats',
      prefix: freshPrefix(),
      rate: 3,
      per: 60_000,
      name: 'partner',
    });
    const rejects: string[] = [];
    limiter.on('reject', (event) => rejects.push(event.reason));
    await limiter.execute(() => 1);
    expect(limiter.stats).toMatchObject({ available: 2, limit: 3 });
    await settleAll(Array.from({ length: 4 }, () => limiter.execute(() => 1)));
    expect(limiter.stats).toMatchObject({ admitted: 3, rejected: 2, available: 0, redisAvailable: true });
    expect(rejects).toEqual(['limit', 'limit']);
    expect(limiter._health()).toMatchObject({ kind: 'distributedRateLimit', name: 'partner', status: 'ok' });
  });
});

describeRedis('distributedRateLimit when Redis answers with an error', () => {
  it('a script error (the key holds another type) is handled like an outage: event, then fail mode', async () => {
    const redis = connect();
    const prefix = freshPrefix();
    await redis.rpush(`${prefix}rate:{clash}`, 'not a bucket');
    const open = rateLimitOf({ redis, key: 'clash', prefix, rate: 1 });
    const closed = rateLimitOf({ redis, key: 'clash', prefix, rate: 1, onRedisError: 'failClosed' });
    const errors: unknown[] = [];
    open.on('redisError', ({ error }) => errors.push(error));
    await expect(open.execute(() => 'admitted')).resolves.toBe('admitted');
    await expect(closed.execute(() => 'ran')).rejects.toMatchObject({ code: 'ERR_REDIS_UNAVAILABLE' });
    expect(String(errors[0])).toMatch(/WRONGTYPE/);
  });
});
