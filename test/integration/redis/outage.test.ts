// Redis slow, stopped and restarted mid-run. These tests use their own redis-server
// (not the run's shared one) so that stopping it affects no other test file.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BulkheadFullError, RateLimitedError, bulkhead } from '../../../src/index.js';
import {
  RedisTimeoutError,
  RedisUnavailableError,
  distributedBulkhead,
  distributedRateLimit,
  sharedCircuitBreaker,
} from '../../../src/integrations/redis/index.js';
import { RedisServer } from '../../setup/redis-server.js';
import { connect, describeRedis, freshPrefix, pause, redisUrl, settleAll } from './helpers.js';

let server: RedisServer;

beforeAll(async () => {
  if (redisUrl === '') return;
  server = await RedisServer.start();
});

afterAll(async () => {
  await server?.stop();
});

/** A client that reconnects quickly, as a test wants. */
function client(): Redis {
  return connect(server.url, { retryStrategy: () => 20 });
}

/** A connected client: its policies' first calls must not race the connection on a loaded machine. */
async function readyClient(): Promise<Redis> {
  const redis = client();
  await redis.ping();
  return redis;
}

async function until(check: () => boolean, ms = 3_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await pause(10);
  }
}

/** Makes the server stall every client for `ms` (a slow Redis), from a connection of its own. */
async function stall(ms: number): Promise<void> {
  const admin = new Redis(server.url);
  await admin.call('CLIENT', 'PAUSE', String(ms), 'ALL');
  admin.disconnect();
}

describeRedis('bulwark/redis when Redis is slow or down', () => {
  it('a slow Redis: every decision is taken within redisTimeout, failOpen admits and failClosed rejects', async () => {
    const prefix = freshPrefix();
    const redis = client();
    const open = distributedRateLimit({ redis, key: 'slow', prefix, rate: 100, redisTimeout: 50 });
    const closed = distributedBulkhead({
      redis,
      key: 'slow',
      prefix,
      limit: 5,
      redisTimeout: 50,
      onRedisError: 'failClosed',
    });
    const breaker = sharedCircuitBreaker({ redis: client(), key: 'slow', prefix, redisTimeout: 50 });
    const errors: string[] = [];
    open.on('redisError', ({ operation, mode }) => errors.push(`${operation}:${mode}`));
    closed.on('redisError', ({ operation, mode }) => errors.push(`${operation}:${mode}`));
    await stall(400);
    const started = Date.now();
    const [admitted, rejected, probed] = await Promise.allSettled([
      open.execute(() => 'admitted'),
      closed.execute(() => 'ran'),
      breaker.execute(() => 'breaker admitted'),
    ]);
    expect(Date.now() - started).toBeLessThan(200);
    expect(admitted).toEqual({ status: 'fulfilled', value: 'admitted' });
    expect(probed).toEqual({ status: 'fulfilled', value: 'breaker admitted' });
    expect(rejected.status).toBe('rejected');
    const error = (rejected as PromiseRejectedResult).reason as RedisUnavailableError;
    expect(error).toBeInstanceOf(RedisUnavailableError);
    expect(error.code).toBe('ERR_REDIS_UNAVAILABLE');
    expect(error.operation).toBe('acquire');
    expect(error.cause).toBeInstanceOf(RedisTimeoutError);
    expect(errors.sort()).toEqual(['acquire:failClosed', 'take:failOpen']);
    expect(closed.stats).toMatchObject({ redisAvailable: false, redisErrors: 1, failedClosed: 1 });
    expect(closed._health().status).toBe('down');
    expect(open._health().status).toBe('degraded');
    // The acquire ran late, after the stall: its lease was handed back, not leaked.
    await until(() => closed.stats.redisAvailable, 2_000).catch(() => {});
    const zcard = () => redis.zcard(`${prefix}bulkhead:{slow}`);
    const deadline = Date.now() + 2_000;
    while ((await zcard()) !== 0 && Date.now() < deadline) await pause(10);
    expect(await zcard()).toBe(0);
    await expect(closed.execute(() => 'ok')).resolves.toBe('ok');
    expect(closed.stats.redisAvailable).toBe(true);
  });

  it('Redis stopped mid-run and restarted: failOpen admits, failClosed rejects, both recover', async () => {
    const prefix = freshPrefix();
    const make = async (onRedisError: 'failOpen' | 'failClosed') => {
      const redis = await readyClient();
      const key = onRedisError;
      return {
        limiter: distributedRateLimit({ redis, key, prefix, rate: 2, per: 60_000, onRedisError }),
        bulkhead: distributedBulkhead({ redis, key, prefix, limit: 3, onRedisError }),
        breaker: sharedCircuitBreaker({
          redis,
          key,
          prefix,
          syncInterval: 20,
          minimumCalls: 2,
          onRedisError,
        }),
      };
    };
    const open = await make('failOpen');
    const closed = await make('failClosed');
    const recovered: string[] = [];
    for (const policy of [open.limiter, closed.limiter]) {
      policy.on('redisRecovered', ({ operation }) => recovered.push(operation));
    }
    // Before the outage: limits hold.
    await open.limiter.execute(() => 1);
    await open.limiter.execute(() => 2);
    await expect(open.limiter.execute(() => 3)).rejects.toBeInstanceOf(RateLimitedError);
    await expect(closed.breaker.execute(() => 'ok')).resolves.toBe('ok');
    await expect(open.breaker.execute(() => 'ok')).resolves.toBe('ok');

    await server.stop();
    const started = Date.now();
    const during = (policies: Awaited<ReturnType<typeof make>>) =>
      settleAll(
        Array.from({ length: 10 }, (_, i) =>
          Promise.all([
            policies.limiter.execute(() => i),
            policies.bulkhead.execute(() => i),
            policies.breaker.execute(() => i),
          ]),
        ),
      );
    // The breaker learns of the outage at its next sync; give it one.
    await pause(40);
    const [whileOpen, whileClosed] = await Promise.all([during(open), during(closed)]);
    // Nothing hangs, no call is lost: every call settled, fast.
    expect(Date.now() - started).toBeLessThan(500);
    expect(whileOpen).toEqual({ fulfilled: 10, rejected: [] });
    expect(whileClosed.fulfilled).toBe(0);
    for (const error of whileClosed.rejected) expect(error).toBeInstanceOf(RedisUnavailableError);
    for (const policy of [open.limiter, open.bulkhead, open.breaker]) {
      expect(policy.stats.redisAvailable).toBe(false);
      expect(policy.stats.failedOpen).toBeGreaterThan(0);
    }
    expect(closed.breaker._health().status).toBe('down');

    await server.start();
    const ready = () =>
      open.limiter
        .execute(() => 'back')
        .then(
          () => open.limiter.stats.redisAvailable,
          () => false,
        );
    const deadline = Date.now() + 3_000;
    while (!(await ready()) && Date.now() < deadline) await pause(20);
    // Back on Redis (fresh, without persistence): the shared limit holds again.
    await expect(open.limiter.execute(() => 'second')).resolves.toBe('second');
    await expect(open.limiter.execute(() => 'third')).rejects.toBeInstanceOf(RateLimitedError);
    let closedBack = false;
    for (let i = 0; i < 100 && !closedBack; i++) {
      closedBack = await closed.limiter.execute(() => true).catch(() => false);
      if (!closedBack) await pause(20);
    }
    expect(closedBack).toBe(true);
    expect(recovered).toEqual(['take', 'take']);
    await pause(50);
    await expect(closed.breaker.execute(() => 'ok')).resolves.toBe('ok');
    await expect(closed.bulkhead.execute(() => 'ok')).resolves.toBe('ok');
    expect(closed.breaker.stats.redisAvailable).toBe(true);
  });

  it('failOpen with a local policy: a local bulkhead limits calls while Redis is down', async () => {
    // A queue place too: the local policy may make a call wait, and that wait is honoured.
    const local = bulkhead({ limit: 2, queue: 1 });
    const shared = distributedBulkhead({
      redis: client(),
      key: 'local',
      prefix: freshPrefix(),
      limit: 10,
      local,
    });
    await shared.execute(() => 'warm');
    await server.stop();
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let ran = 0;
    const calls = settleAll(
      Array.from({ length: 5 }, () =>
        shared.execute(async () => {
          ran += 1;
          await held;
        }),
      ),
    );
    await pause(30);
    expect(ran).toBe(2);
    expect(local.stats).toMatchObject({ running: 2, queued: 1 });
    release();
    const { fulfilled, rejected } = await calls;
    expect(fulfilled).toBe(3);
    expect(ran).toBe(3);
    expect(rejected).toHaveLength(2);
    for (const error of rejected) expect(error).toBeInstanceOf(BulkheadFullError);
    expect(local.stats.running).toBe(0);
    await expect(shared.execute(() => Promise.reject(new Error('work failed')))).rejects.toThrow(
      'work failed',
    );
    expect(local.stats.running).toBe(0);
    await server.start();
  });

  it('nothing hangs with ioredis defaults (offline queue, 20 retries per request)', async () => {
    const redis = new Redis(server.url);
    redis.on('error', () => {});
    try {
      await redis.ping();
      const prefix = freshPrefix();
      const limiter = distributedRateLimit({ redis, key: 'defaults', prefix, rate: 1_000, redisTimeout: 60 });
      const bulk = distributedBulkhead({
        redis,
        key: 'defaults',
        prefix,
        limit: 5,
        redisTimeout: 60,
        onRedisError: 'failClosed',
      });
      await server.stop();
      const started = Date.now();
      const results = await settleAll([
        ...Array.from({ length: 25 }, () => limiter.execute(() => 1)),
        ...Array.from({ length: 25 }, () => bulk.execute(() => 1)),
      ]);
      expect(Date.now() - started).toBeLessThan(300);
      expect(results.fulfilled).toBe(25);
      expect(results.rejected).toHaveLength(25);
    } finally {
      redis.disconnect();
      await server.start();
    }
  });
});

describeRedis('bulwark/redis policies through an outage, in detail', () => {
  /** Runs `body` with the server stopped, and starts it again whatever happens. */
  async function withOutage(body: () => Promise<void>): Promise<void> {
    await server.stop();
    try {
      await body();
    } finally {
      await server.start();
    }
  }

  it('a shared breaker with a local policy hands calls to it while Redis is down', async () => {
    const local = bulkhead({ limit: 1 });
    const breaker = sharedCircuitBreaker({
      redis: await readyClient(),
      redisTimeout: 500,
      key: 'local',
      prefix: freshPrefix(),
      syncInterval: 10,
      local,
    });
    await breaker.execute(() => 'warm');
    await withOutage(async () => {
      await pause(30);
      let release!: () => void;
      const held = breaker.execute(
        () =>
          new Promise<string>((resolve) => {
            release = () => resolve('held');
          }),
      );
      await pause(5);
      await expect(breaker.execute(() => 'second')).rejects.toBeInstanceOf(BulkheadFullError);
      release();
      await expect(held).resolves.toBe('held');
      await expect(breaker.execute(() => Promise.reject(new Error('work failed')))).rejects.toThrow(
        'work failed',
      );
      expect(local.stats.running).toBe(0);
      expect(breaker._children()).toEqual([local]);
      expect(breaker._health().status).toBe('degraded');
    });
  });

  it('a rate limiter with a local policy passes failures through it', async () => {
    const local = bulkhead({ limit: 1 });
    const limiter = distributedRateLimit({
      redis: await readyClient(),
      redisTimeout: 500,
      key: 'local',
      prefix: freshPrefix(),
      rate: 10,
      local,
    });
    await withOutage(async () => {
      await expect(limiter.execute(() => Promise.reject(new Error('work failed')))).rejects.toThrow(
        'work failed',
      );
      await expect(limiter.execute(() => 'ok')).resolves.toBe('ok');
      expect(local.stats.running).toBe(0);
      expect(limiter.stats.failedOpen).toBe(2);
    });
  });

  it('a shared breaker whose open period ended asks Redis for a probe; if Redis is gone it fails open', async () => {
    const prefix = freshPrefix();
    const breaker = sharedCircuitBreaker({
      redis: await readyClient(),
      redisTimeout: 500,
      key: 'probe',
      prefix,
      minimumCalls: 1,
      openFor: 30,
      syncInterval: 10_000,
    });
    const operations: string[] = [];
    breaker.on('redisError', ({ operation }) => operations.push(operation));
    await breaker.execute(() => Promise.reject(new Error('x'))).catch(() => {});
    await breaker.flush();
    expect(breaker.state).toBe('open');
    await pause(40);
    await withOutage(async () => {
      // The cached open period is over, so this call asks Redis for a probe: Redis is down, fail open.
      await expect(breaker.execute(() => 'admitted')).resolves.toBe('admitted');
      expect(operations).toEqual(['probe']);
    });
  });

  it("a probe's verdict lost in an outage and an isolate() without Redis are reported, not thrown", async () => {
    const prefix = freshPrefix();
    const breaker = sharedCircuitBreaker({
      redis: await readyClient(),
      redisTimeout: 500,
      key: 'verdict',
      prefix,
      minimumCalls: 1,
      openFor: 30,
      syncInterval: 10_000,
    });
    const operations: string[] = [];
    breaker.on('redisError', ({ operation }) => operations.push(operation));
    await breaker.execute(() => Promise.reject(new Error('x'))).catch(() => {});
    await breaker.flush();
    await pause(40);
    let finish!: () => void;
    const probe = breaker.execute(
      () =>
        new Promise<string>((resolve) => {
          finish = () => resolve('probe');
        }),
    );
    await pause(20);
    await withOutage(async () => {
      finish();
      await expect(probe).resolves.toBe('probe');
      await pause(5);
      const release = breaker.isolate();
      await pause(5);
      expect(breaker.state).toBe('isolated');
      await expect(breaker.execute(() => 1)).rejects.toMatchObject({ state: 'isolated' });
      release();
      release();
      await until(() => operations.length === 3);
      expect(operations.sort()).toEqual(['force', 'force', 'probeResult']);
    });
  });

  it('a probe granted after redisTimeout is handed back to the fleet', async () => {
    const prefix = freshPrefix();
    const breaker = sharedCircuitBreaker({
      redis: await readyClient(),
      key: 'late-probe',
      prefix,
      minimumCalls: 1,
      openFor: 30,
      redisTimeout: 50,
      syncInterval: 10_000,
    });
    await breaker.execute(() => 'warm');
    await breaker.execute(() => Promise.reject(new Error('x'))).catch(() => {});
    await breaker.flush();
    await pause(40);
    await stall(200);
    // The probe request times out (the call fails open); Redis grants it later, and it goes back.
    await expect(breaker.execute(() => 'failed open')).resolves.toBe('failed open');
    await pause(250);
    const admin = await readyClient();
    const deadline = Date.now() + 1_000;
    let probes = await admin.hget(`${prefix}breaker:{late-probe}`, 'p');
    while (probes !== '0' && Date.now() < deadline) {
      await pause(10);
      probes = await admin.hget(`${prefix}breaker:{late-probe}`, 'p');
    }
    expect(probes).toBe('0');
  });

  it('outcomes waiting for a stalled Redis are bounded: the overflow is dropped and counted', async () => {
    const breaker = sharedCircuitBreaker({
      redis: await readyClient(),
      key: 'overflow',
      prefix: freshPrefix(),
      maxBatch: 1,
      syncInterval: 10_000,
    });
    await breaker.execute(() => 'warm');
    await breaker.flush();
    await stall(300);
    for (let i = 0; i < 30; i++) await breaker.execute(() => i);
    const { pending, dropped } = breaker.stats;
    expect(pending).toBe(10);
    expect(dropped).toBe(19);
    await breaker.flush();
    expect(breaker.stats.pending).toBe(0);
  });

  it('a lease lost in a Redis restart is reported; a release that fails is reported too', async () => {
    const slots = distributedBulkhead({
      redis: await readyClient(),
      redisTimeout: 500,
      key: 'lost',
      prefix: freshPrefix(),
      limit: 5,
      leaseTtl: 150,
    });
    const events: string[] = [];
    slots.on('redisError', ({ operation }) => events.push(operation));
    slots.on('leaseLost', () => events.push('leaseLost'));
    const finishers: (() => void)[] = [];
    const calls = [0, 1].map(() =>
      slots.execute(
        () =>
          new Promise<void>((resolve) => {
            finishers.push(resolve);
          }),
      ),
    );
    await until(() => slots.stats.held === 2);
    await server.stop();
    finishers[0]!();
    await calls[0];
    await until(() => events.includes('release'));
    // Restarted without persistence: the other call's lease is gone, and its renewal finds out.
    await server.start();
    await until(() => events.includes('leaseLost'));
    expect(slots.stats).toMatchObject({ leasesLost: 1, held: 0 });
    finishers[1]!();
    await calls[1];
  });
});
