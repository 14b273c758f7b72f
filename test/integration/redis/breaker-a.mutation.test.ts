/**
 * Tests written to kill mutants that survived `npm run mutation` on
 * src/integrations/redis/breaker.ts (its lines below 290; see docs/testing.md,
 * "Mutation testing"): each pins a behaviour that no other test observed.
 * Named after the behaviour, not the mutant.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { CircuitOpenError, circuitBreaker } from '../../../src/index.js';
import {
  type RedisClient,
  RedisUnavailableError,
  type SharedCircuitBreakerOptions,
  sharedCircuitBreaker,
} from '../../../src/integrations/redis/index.js';
import { VirtualClock } from '../../../src/testing/index.js';
import { breakerOf, connect, describeRedis, freshPrefix } from './helpers.js';

const fail = () => Promise.reject(new Error('dependency down'));
const ok = () => 'ok';
/** No tick fires while a test advances its VirtualClock by less than this. */
const NO_TICK = 1_000_000;

/** A client that counts the scripts sent through it, and fails them while `down` is set. */
function watched(redis: RedisClient): RedisClient & { count: number; down: boolean } {
  const lost = () => Promise.reject(new Error('connection lost'));
  const client = {
    count: 0,
    down: false,
    evalsha(...args: Parameters<RedisClient['evalsha']>) {
      client.count += 1;
      return client.down ? lost() : redis.evalsha(...args);
    },
    eval(...args: Parameters<RedisClient['eval']>) {
      client.count += 1;
      return client.down ? lost() : redis.eval(...args);
    },
  };
  return client;
}

/** One instance on a VirtualClock, with a watched client. */
function instance(options: Partial<SharedCircuitBreakerOptions> = {}) {
  const clock = new VirtualClock({ start: 1_000 });
  const redis = watched(connect());
  const breaker = breakerOf({
    redis,
    key: 'orders',
    prefix: freshPrefix(),
    syncInterval: NO_TICK,
    clock,
    ...options,
  });
  return { breaker, clock, redis };
}

/** Runs a call that takes `ms` on the virtual clock and succeeds. */
async function timed(breaker: ReturnType<typeof sharedCircuitBreaker>, clock: VirtualClock, ms: number) {
  const call = breaker.execute(() => new Promise((resolve) => clock.setTimeout(() => resolve('ok'), ms)));
  await clock.advance(ms);
  return call;
}

describe('sharedCircuitBreaker options (integrations/redis/breaker)', () => {
  const redis = new Redis({ lazyConnect: true });
  afterAll(() => redis.disconnect());
  const p = 'sharedCircuitBreaker';

  it('options must be an object, named in the message', () => {
    expect(() => sharedCircuitBreaker(5 as never)).toThrow(`${p}: options must be an object, got 5`);
  });

  it('a time window duration and halfOpenCalls are whole numbers ≥ 1', () => {
    const timeWindow = (duration: number) => ({ type: 'time' as const, duration });
    expect(() => sharedCircuitBreaker({ redis, key: 'k', window: timeWindow(1.5) })).toThrow(
      `${p}: window.duration must be an integer ≥ 1, got 1.5`,
    );
    expect(() => sharedCircuitBreaker({ redis, key: 'k', window: timeWindow(0.5) })).toThrow(
      `${p}: window.duration must be an integer ≥ 1, got 0.5`,
    );
    expect(() => sharedCircuitBreaker({ redis, key: 'k', halfOpenCalls: 2.5 })).toThrow(
      `${p}: halfOpenCalls must be an integer ≥ 1, got 2.5`,
    );
    expect(() => sharedCircuitBreaker({ redis, key: 'k', halfOpenCalls: 0 })).toThrow(
      `${p}: halfOpenCalls must be an integer ≥ 1, got 0`,
    );
  });

  it('probeTimeout, maxBatch and stateTtl are checked, each named with its bounds', () => {
    expect(() => sharedCircuitBreaker({ redis, key: 'k', probeTimeout: 1.5 })).toThrow(
      `${p}: probeTimeout must be an integer ≥ 1, got 1.5`,
    );
    expect(() => sharedCircuitBreaker({ redis, key: 'k', probeTimeout: 0 })).toThrow(
      `${p}: probeTimeout must be an integer ≥ 1, got 0`,
    );
    expect(() => sharedCircuitBreaker({ redis, key: 'k', maxBatch: 2.5 })).toThrow(
      `${p}: maxBatch must be an integer ≥ 1 and ≤ 10000, got 2.5`,
    );
    expect(() => sharedCircuitBreaker({ redis, key: 'k', maxBatch: 10_001 })).toThrow(
      `${p}: maxBatch must be an integer ≥ 1 and ≤ 10000, got 10001`,
    );
    expect(() => sharedCircuitBreaker({ redis, key: 'k', stateTtl: 1500.5 })).toThrow(
      `${p}: stateTtl must be an integer ≥ 1000, got 1500.5`,
    );
    expect(() => sharedCircuitBreaker({ redis, key: 'k', stateTtl: 999 })).toThrow(
      `${p}: stateTtl must be an integer ≥ 1000, got 999`,
    );
    const valid = sharedCircuitBreaker({
      redis,
      key: 'k',
      probeTimeout: 1,
      maxBatch: 10_000,
      stateTtl: 1000,
    });
    expect([valid.probeTimeout, valid.maxBatch, valid.stateTtl]).toEqual([1, 10_000, 1000]);
  });
});

describeRedis('sharedCircuitBreaker on real Redis (integrations/redis/breaker)', () => {
  it('a time window sends its duration: buckets are duration / buckets ms wide in Redis', async () => {
    const server = connect();
    const prefix = freshPrefix();
    const breaker = breakerOf({
      redis: connect(),
      key: 'wide',
      prefix,
      window: { type: 'time', duration: 60_000, buckets: 4 },
    });
    const before = Number((await server.time())[0]) * 1000;
    await breaker.execute(fail).catch(() => {});
    await breaker.flush();
    const after = (Number((await server.time())[0]) + 1) * 1000;
    const window = await server.hgetall(`${prefix}breaker:{wide}:window`);
    // One bucket, numbered now / 15 000 ms on Redis' clock.
    const bucket = Number(window.tb);
    expect(bucket).toBeGreaterThanOrEqual(Math.floor(before / 15_000));
    expect(bucket).toBeLessThanOrEqual(Math.floor(after / 15_000));
    expect(window).toMatchObject({ n: '1', f: '1', [`n${bucket}`]: '1', [`f${bucket}`]: '1' });
  });

  it('with only consecutiveFailures, successes never open it and the open event names that trigger', async () => {
    const { breaker } = instance({ consecutiveFailures: 2 });
    const reasons: string[] = [];
    breaker.on('open', ({ reason }) => reasons.push(reason));
    // More calls than the default minimumCalls (20), none failed: no rate can trip it.
    for (let i = 0; i < 25; i++) await breaker.execute(ok);
    await breaker.flush();
    expect(breaker.stats).toMatchObject({ state: 'closed', calls: 25, failures: 0 });
    for (let i = 0; i < 2; i++) await breaker.execute(fail).catch(() => {});
    await breaker.flush();
    expect(breaker.state).toBe('open');
    expect(reasons).toEqual(['consecutiveFailures']);
  });

  it('the open event names slowCallRate when slow calls tripped it', async () => {
    const { breaker, clock } = instance({ minimumCalls: 2, slowCallDuration: 10, slowCallRate: 1 });
    const reasons: string[] = [];
    breaker.on('open', ({ reason, calls, slowCallRate }) =>
      reasons.push(`${reason}:${calls}:${slowCallRate}`),
    );
    // The first call waits for a refresh; the reset then drops its outcome from the window.
    await breaker.execute(ok);
    await breaker.reset();
    await expect(timed(breaker, clock, 20)).resolves.toBe('ok');
    await expect(timed(breaker, clock, 20)).resolves.toBe('ok');
    await breaker.flush();
    expect(breaker.state).toBe('open');
    expect(reasons).toEqual(['slowCallRate:2:1']);
  });

  it('stats rates are 0 before any call, then failures and slow calls over calls', async () => {
    const { breaker, clock } = instance({ minimumCalls: 10, slowCallDuration: 10, slowCallRate: 1 });
    await breaker.flush();
    expect(breaker.stats).toMatchObject({ calls: 0, failureRate: 0, slowCallRate: 0 });
    await breaker.execute(fail).catch(() => {});
    await timed(breaker, clock, 20);
    await breaker.execute(ok);
    await breaker.execute(ok);
    await breaker.flush();
    expect(breaker.stats).toMatchObject({
      calls: 4,
      failures: 1,
      slowCalls: 1,
      failureRate: 0.25,
      slowCallRate: 0.25,
    });
  });

  it('state, retryAfter and health follow the open period on the local clock', async () => {
    const { breaker, clock } = instance({ consecutiveFailures: 1, openFor: 1_000 });
    await breaker.execute(ok);
    await breaker.flush();
    expect(breaker._health().status).toBe('ok');
    await breaker.execute(fail).catch(() => {});
    // Tripped by this instance's own flush: Redis answers the whole openFor.
    await breaker.flush();
    expect(breaker.stats).toMatchObject({ state: 'open', retryAfter: 1_000 });
    expect(breaker._health().status).toBe('down');
    await clock.advance(250);
    expect(breaker.stats).toMatchObject({ state: 'open', retryAfter: 750 });
    await clock.advance(749);
    expect(breaker.stats).toMatchObject({ state: 'open', retryAfter: 1 });
    await clock.advance(1);
    // Exactly at the end of the open period: ready for a probe.
    expect(breaker.stats).toMatchObject({ state: 'halfOpen', retryAfter: 0 });
    expect(breaker._health().status).toBe('degraded');
  });

  it('an isolated breaker reports no retryAfter and is down, even inside an open period', async () => {
    const { breaker } = instance({ consecutiveFailures: 1, openFor: 1_000 });
    await breaker.execute(fail).catch(() => {});
    await breaker.flush();
    expect(breaker.stats.retryAfter).toBe(1_000);
    const release = breaker.isolate();
    expect(breaker.stats).toMatchObject({ state: 'isolated', retryAfter: 0 });
    expect(breaker._health().status).toBe('down');
    release();
  });

  it('an open breaker rejects from its cached state, with no Redis call', async () => {
    const { breaker, clock, redis } = instance({ consecutiveFailures: 1, openFor: 1_000 });
    await breaker.execute(fail).catch(() => {});
    await breaker.flush();
    await clock.advance(400);
    const before = redis.count;
    const error = await breaker.execute(ok).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CircuitOpenError);
    expect(error).toMatchObject({ state: 'open', retryAfter: 600 });
    expect(redis.count).toBe(before);
  });

  it('an instance that learned the fleet is isolated rejects with no Redis call', async () => {
    const prefix = freshPrefix();
    const a = breakerOf({ redis: connect(), key: 'iso', prefix, syncInterval: NO_TICK });
    const clock = new VirtualClock();
    const redis = watched(connect());
    const b = breakerOf({ redis, key: 'iso', prefix, syncInterval: NO_TICK, clock });
    await b.execute(ok);
    const release = a.isolate();
    await a.flush();
    await b.flush();
    expect(b.state).toBe('isolated');
    const before = redis.count;
    await expect(b.execute(ok)).rejects.toMatchObject({ state: 'isolated', retryAfter: 0 });
    expect(redis.count).toBe(before);
    release();
  });

  it('an instance that saw the fleet go half-open asks for a probe, whatever its clock says', async () => {
    const prefix = freshPrefix();
    const options = { key: 'half', prefix, consecutiveFailures: 1, openFor: 5, syncInterval: NO_TICK };
    const aClock = new VirtualClock();
    const a = breakerOf({ redis: connect(), clock: aClock, ...options });
    // b's clock never moves: its cached open period never ends by its own reckoning.
    const b = breakerOf({ redis: connect(), clock: new VirtualClock(), ...options });
    await b.execute(ok);
    await a.execute(fail).catch(() => {});
    await a.flush();
    await b.flush();
    expect(b.state).toBe('open');
    // Redis keeps the open period's time: wait it out (5 ms) with margin.
    await new Promise((resolve) => setTimeout(resolve, 15));
    await aClock.advance(10);
    let finish!: () => void;
    const probe = a.execute(
      () =>
        new Promise<string>((resolve) => {
          finish = () => resolve('probe');
        }),
    );
    await expect.poll(() => finish !== undefined, { timeout: 5_000, interval: 5 }).toBe(true);
    await b.flush();
    expect(b.state).toBe('halfOpen');
    // The one probe is out: b is told so by Redis, not by its stale open period.
    await expect(b.execute(ok)).rejects.toMatchObject({ state: 'halfOpen', retryAfter: 0 });
    finish();
    await expect(probe).resolves.toBe('probe');
  });

  it('releasing one isolation twice keeps the fleet isolated while another is held', async () => {
    const prefix = freshPrefix();
    const a = breakerOf({ redis: connect(), key: 'kill', prefix, syncInterval: NO_TICK });
    const b = breakerOf({ redis: connect(), key: 'kill', prefix, syncInterval: NO_TICK });
    const first = a.isolate();
    const second = a.isolate();
    first();
    first();
    await a.flush();
    await b.flush();
    expect(a.state).toBe('isolated');
    expect(b.state).toBe('isolated');
    await expect(b.execute(ok)).rejects.toMatchObject({ state: 'isolated' });
    second();
    await a.flush();
    await b.flush();
    expect([a.state, b.state]).toEqual(['closed', 'closed']);
  });

  it('flush() while a flush is in flight also sends the outcomes recorded meanwhile', async () => {
    const { breaker, redis } = instance({ consecutiveFailures: 5 });
    await breaker.execute(ok);
    await breaker.flush();
    expect(breaker.stats).toMatchObject({ calls: 1, pending: 0 });
    const before = redis.count;
    // The first flush carries nothing; the failure is recorded while it is in flight.
    const first = breaker.flush();
    await breaker.execute(fail).catch(() => {});
    expect(breaker.stats.pending).toBe(1);
    await breaker.flush();
    await first;
    expect(redis.count).toBe(before + 2);
    expect(breaker.stats).toMatchObject({ calls: 2, failures: 1, consecutiveFailures: 1, pending: 0 });
  });

  it('flush() while a flush is in flight, with nothing new to send, makes no second round trip', async () => {
    const { breaker, redis } = instance();
    await breaker.execute(ok);
    await breaker.flush();
    const before = redis.count;
    const first = breaker.flush();
    await breaker.flush();
    await first;
    expect(redis.count).toBe(before + 1);
  });

  it('a tick during a call still in flight syncs the state and stays armed', async () => {
    const { breaker, clock, redis } = instance({ syncInterval: 100 });
    await breaker.execute(ok);
    // The first tick flushes that outcome.
    await clock.advance(100);
    await breaker.flush();
    let finish!: () => void;
    const long = breaker.execute(
      () =>
        new Promise<void>((resolve) => {
          finish = resolve;
        }),
    );
    const before = redis.count;
    // No outcome waits, but a call entered since the last tick: it reads the fleet's state.
    await clock.advance(100);
    expect(redis.count).toBe(before + 1);
    await breaker.flush();
    finish();
    await long;
  });

  it('a call aborted during its first refresh leaves the next tick idle', async () => {
    const { breaker, clock, redis } = instance({ syncInterval: 100 });
    const controller = new AbortController();
    const call = breaker.execute(ok, { signal: controller.signal });
    controller.abort(new Error('gone'));
    await expect(call).rejects.toThrow('gone');
    await breaker.flush();
    const before = redis.count;
    // Nothing entered and nothing waits: the tick stops without a round trip.
    await clock.advance(100);
    expect(redis.count).toBe(before);
  });

  it('failClosed names the sync that found Redis down when it rejects a call', async () => {
    const { breaker, redis } = instance({ onRedisError: 'failClosed' });
    await breaker.execute(ok);
    redis.down = true;
    await breaker.flush();
    const error = await breaker.execute(ok).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedisUnavailableError);
    expect(error).toMatchObject({
      operation: 'sync',
      message: 'Redis unavailable during sync; rejected without calling (failClosed)',
    });
  });

  it('a success decided by the local policy while Redis is down counts as a success there', async () => {
    const local = circuitBreaker({ consecutiveFailures: 1 });
    const outcomes: string[] = [];
    local.on('success', () => outcomes.push('success'));
    local.on('failure', () => outcomes.push('failure'));
    const { breaker, redis } = instance({ local });
    redis.down = true;
    await expect(breaker.execute(() => 'local ok')).resolves.toBe('local ok');
    expect(outcomes).toEqual(['success']);
    // One failure would have opened it.
    expect(local.state).toBe('closed');
  });

  it('a throwing failOnResult fails the call with its error and leaves it uncounted', async () => {
    const { breaker } = instance({
      consecutiveFailures: 1,
      failOnResult: () => {
        throw new Error('broken predicate');
      },
    });
    await expect(breaker.execute(() => 'value')).rejects.toThrow('broken predicate');
    await breaker.flush();
    expect(breaker.stats).toMatchObject({ state: 'closed', calls: 0, pending: 0 });
  });
});
