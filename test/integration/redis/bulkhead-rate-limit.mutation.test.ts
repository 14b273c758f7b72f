// Behaviour pinned down while reviewing the surviving mutants of the redis group
// (src/integrations/redis/bulkhead.ts and rate-limit.ts): option messages, health,
// lease ids and expiry, renewal batching, Redis recovery events, lost leases, local policies.
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { expect, it } from 'vitest';
import { BulkheadFullError, bulkhead, pipeline, retry, timeout } from '../../../src/index.js';
import {
  type RedisClient,
  RedisUnavailableError,
  distributedBulkhead,
  distributedRateLimit,
} from '../../../src/integrations/redis/index.js';
import { VirtualClock } from '../../../src/testing/index.js';
import { bulkheadOf, connect, describeRedis, freshPrefix, rateLimitOf } from './helpers.js';
import { gate, until } from '../../integrations/server/helpers.js';
import { TimerRecordingClock } from '../../helpers/clocks.js';

type Script = 'acquire' | 'release' | 'renew' | 'take';

/** Which of the policies' scripts a source is. */
function scriptOf(source: string): Script {
  if (source.includes('ZREMRANGEBYSCORE')) return 'acquire';
  if (source.includes('lost')) return 'renew';
  if (source.includes('ZREM')) return 'release';
  return 'take';
}

/**
 * A real client the test controls: it logs every script sent (with its ARGV), fails every
 * command while `down`, and can hold back the reply of the next script of one kind.
 */
function controlled(redis: Redis) {
  const shas = new Map<string, Script>();
  const inFlight = new Set<Promise<unknown>>();
  const held: (() => void)[] = [];
  const state = {
    down: false,
    sent: [] as { script: Script; args: string[] }[],
    /** The next script of this kind runs in Redis, but its reply waits for `letGo()`. */
    hold: undefined as Script | undefined,
    letGo(): void {
      for (const open of held.splice(0)) open();
    },
    /** Waits until every command sent has been answered and what it started has settled. */
    async quiet(clock: VirtualClock): Promise<void> {
      for (;;) {
        await clock.settle();
        if (inFlight.size === 0) return;
        await Promise.allSettled([...inFlight]);
      }
    },
  };
  const send = (script: Script, args: (string | number)[], run: () => Promise<unknown>): Promise<unknown> => {
    state.sent.push({ script, args: args.map(String) });
    if (state.down) return Promise.reject(new Error('connection lost'));
    const reply = run();
    inFlight.add(reply);
    void reply.then(
      () => inFlight.delete(reply),
      () => inFlight.delete(reply),
    );
    if (state.hold !== script) return reply;
    state.hold = undefined;
    const gate = new Promise<void>((resolve) => held.push(resolve));
    return reply.then(async (value) => {
      await gate;
      return value;
    });
  };
  const client: RedisClient = {
    evalsha: (sha, numkeys, ...args) => {
      const script = shas.get(sha);
      // A script this client has not sent yet: make the policy send its source, to learn which it is.
      if (script === undefined) return Promise.reject(new Error('NOSCRIPT not seen by this client'));
      return send(script, args.slice(numkeys), () => redis.evalsha(sha, numkeys, ...args));
    },
    eval: (source, numkeys, ...args) => {
      const script = scriptOf(source);
      shas.set(createHash('sha1').update(source).digest('hex'), script);
      return send(script, args.slice(numkeys), () => redis.eval(source, numkeys, ...args));
    },
  };
  return Object.assign(state, { client });
}

describeRedis('distributedBulkhead: behaviour pinned by its surviving mutants', () => {
  it('names the options and leaseTtl in validation messages', () => {
    const redis = connect();
    expect(() => distributedBulkhead(5 as never)).toThrow(
      'distributedBulkhead: options must be an object, got 5',
    );
    expect(() => distributedBulkhead({ redis, key: 'k', limit: 1, leaseTtl: 3.5 })).toThrow(
      'distributedBulkhead: leaseTtl must be an integer ≥ 3, got 3.5',
    );
    expect(distributedBulkhead({ redis, key: 'k', limit: 1, leaseTtl: 3 }).leaseTtl).toBe(3);
  });

  it('health: ok with free slots, degraded (failOpen) or down (failClosed) while Redis fails', async () => {
    const redis = connect();
    const prefix = freshPrefix();
    const clock = new VirtualClock();
    const open = controlled(redis);
    const closed = controlled(redis);
    const slots = bulkheadOf({ redis: open.client, key: 'health', prefix, limit: 2, clock });
    const strict = bulkheadOf({
      redis: closed.client,
      key: 'health',
      prefix,
      limit: 2,
      clock,
      onRedisError: 'failClosed',
    });
    await expect(slots.execute(() => 'one')).resolves.toBe('one');
    expect(slots._health()).toMatchObject({
      kind: 'distributedBulkhead',
      status: 'ok',
      key: 'health',
      running: 1,
      limit: 2,
      redisAvailable: true,
    });
    expect(strict._health()).toMatchObject({ kind: 'distributedBulkhead', status: 'ok' });
    open.down = true;
    closed.down = true;
    await expect(slots.execute(() => 'admitted')).resolves.toBe('admitted');
    await expect(strict.execute(() => 'ran')).rejects.toBeInstanceOf(RedisUnavailableError);
    expect(slots._health()).toMatchObject({ status: 'degraded', redisAvailable: false, running: 1 });
    expect(strict._health()).toMatchObject({ status: 'down', redisAvailable: false });
  });

  it('lease ids are the instance id and a count from 1; the set expires with its longest lease', async () => {
    const redis = connect();
    const prefix = freshPrefix();
    const clock = new VirtualClock();
    const slots = bulkheadOf({ redis, key: 'ids', prefix, limit: 2, leaseTtl: 60_000, clock });
    const held = gate();
    const calls = [slots.execute(() => held.opened), slots.execute(() => held.opened)];
    const key = `${prefix}bulkhead:{ids}`;
    await until(() => slots.stats.held === 2, 'both calls to hold a lease', 1_000);
    const ids = await redis.zrange(key, 0, -1);
    expect(ids).toHaveLength(2);
    const [instance] = ids[0]!.split(':');
    expect(instance).toMatch(/^[0-9a-z]{9,16}$/);
    expect(ids.sort()).toEqual([`${instance}:1`, `${instance}:2`]);
    const pttl = await redis.pttl(key);
    expect(pttl).toBeGreaterThan(50_000);
    expect(pttl).toBeLessThanOrEqual(60_000);
    held.open();
    await Promise.all(calls);
  });

  it("a full bulkhead's error names the key and the fleet's load", async () => {
    const slots = bulkheadOf({ redis: connect(), key: 'db', prefix: freshPrefix(), limit: 1 });
    const held = gate();
    const first = slots.execute(() => held.opened);
    await until(() => slots.stats.held === 1, 'the first call to hold a lease', 1_000);
    const error = await slots.execute(() => 'second').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BulkheadFullError);
    expect((error as Error).message).toBe(
      'Distributed bulkhead "db" is full (1 running, limit 1); rejected without calling',
    );
    held.open();
    await first;
  });

  it('reports Redis errors and recoveries with the operation: acquire, renew, release', async () => {
    const clock = new VirtualClock();
    const redis = controlled(connect());
    const slots = bulkheadOf({
      redis: redis.client,
      key: 'ops',
      prefix: freshPrefix(),
      limit: 2,
      leaseTtl: 300,
      clock,
    });
    const events: string[] = [];
    slots.on('redisError', ({ operation }) => events.push(`error ${operation}`));
    slots.on('redisRecovered', ({ operation, errors }) => events.push(`recovered ${operation} ${errors}`));
    redis.down = true;
    await expect(slots.execute(() => 'open')).resolves.toBe('open');
    redis.down = false;
    const held = gate();
    const call = slots.execute(() => held.opened);
    await redis.quiet(clock);
    redis.down = true;
    await clock.advance(100);
    redis.down = false;
    await clock.advance(100);
    await redis.quiet(clock);
    redis.down = true;
    await clock.advance(100);
    redis.down = false;
    held.open();
    await call;
    await redis.quiet(clock);
    expect(events).toEqual([
      'error acquire',
      'recovered acquire 1',
      'error renew',
      'recovered renew 1',
      'error renew',
      'recovered release 1',
    ]);
    expect(slots.stats).toMatchObject({ redisErrors: 3, redisAvailable: true, held: 0 });
  });

  it('renews every lease held with one script each leaseTtl / 3, and stops once none is held', async () => {
    const clock = new VirtualClock();
    const redis = controlled(connect());
    const slots = bulkheadOf({
      redis: redis.client,
      key: 'renew',
      prefix: freshPrefix(),
      limit: 3,
      leaseTtl: 300,
      clock,
    });
    const held = gate();
    const first = slots.execute(() => held.opened);
    await redis.quiet(clock);
    const second = slots.execute(() => held.opened);
    await redis.quiet(clock);
    const ids = redis.sent.map(({ args }) => args[2]);
    expect(redis.sent.map(({ script }) => script)).toEqual(['acquire', 'acquire']);
    redis.sent.length = 0;
    await clock.advance(100);
    await redis.quiet(clock);
    expect(redis.sent).toEqual([{ script: 'renew', args: ['300', ...ids] }]);
    held.open();
    await Promise.all([first, second]);
    await redis.quiet(clock);
    redis.sent.length = 0;
    await clock.advance(1_000);
    await redis.quiet(clock);
    expect(redis.sent).toEqual([]);
  });

  it('a renewal reports each lost lease still held, skipping one released while it ran', async () => {
    const clock = new VirtualClock();
    const redis = controlled(connect());
    const admin = connect();
    const prefix = freshPrefix();
    const slots = bulkheadOf({ redis: redis.client, key: 'lost', prefix, limit: 2, leaseTtl: 300, clock });
    const lost: unknown[] = [];
    slots.on('leaseLost', (event) => lost.push(event));
    const a = gate();
    const b = gate();
    const callA = slots.execute(() => a.opened);
    await redis.quiet(clock);
    const callB = slots.execute(() => b.opened);
    await redis.quiet(clock);
    const [idA, idB] = redis.sent.map(({ args }) => args[2]);
    // Redis lost the set (a restart without persistence).
    await admin.del(`${prefix}bulkhead:{lost}`);
    redis.hold = 'renew';
    await clock.advance(100);
    await redis.quiet(clock);
    expect(redis.sent.at(-1)).toEqual({ script: 'renew', args: ['300', idA, idB] });
    // A finishes while the renewal's answer (both gone) is on its way.
    a.open();
    await callA;
    await redis.quiet(clock);
    redis.letGo();
    await redis.quiet(clock);
    expect(lost).toEqual([{ lease: idB }]);
    expect(slots.stats).toMatchObject({ leasesLost: 1, held: 0 });
    b.open();
    await callB;
    await redis.quiet(clock);
  });

  it("frees a retried attempt's slot at once even though an earlier attempt's work still lingers", async () => {
    const clock = new VirtualClock();
    const redis = controlled(connect());
    const admin = connect();
    const prefix = freshPrefix();
    const slots = bulkheadOf({
      redis: redis.client,
      key: 'retry',
      prefix,
      limit: 2,
      leaseTtl: 60_000,
      clock,
    });
    const guarded = pipeline(
      retry({ maxAttempts: 2, backoff: 0, clock }),
      slots,
      timeout({ ms: 50, strategy: 'aggressive', clock }),
    );
    const stuck = gate();
    let attempts = 0;
    const call = guarded.execute(async () => {
      attempts += 1;
      if (attempts === 1) await stuck.opened;
      return attempts;
    });
    await redis.quiet(clock);
    // The first attempt times out, its work lingers; the second one runs at once and succeeds.
    await clock.advance(50);
    await redis.quiet(clock);
    await expect(call).resolves.toBe(2);
    await redis.quiet(clock);
    const [first, second] = redis.sent.map(({ args }) => args[2]);
    expect(redis.sent.map(({ script, args }) => `${script} ${args.at(-1)}`)).toEqual([
      `acquire ${first}`,
      `acquire ${second}`,
      `release ${second}`,
    ]);
    expect(await admin.zrange(`${prefix}bulkhead:{retry}`, 0, -1)).toEqual([first]);
    expect(slots.stats.held).toBe(1);
    stuck.open();
    await redis.quiet(clock);
    expect(redis.sent.at(-1)).toEqual({ script: 'release', args: [first] });
    expect(await admin.zcard(`${prefix}bulkhead:{retry}`)).toBe(0);
  });

  it('a late answer that refused the slot is not answered with a release', async () => {
    const clock = new VirtualClock();
    const redis = controlled(connect());
    const slots = bulkheadOf({
      redis: redis.client,
      key: 'late',
      prefix: freshPrefix(),
      limit: 1,
      leaseTtl: 60_000,
      clock,
    });
    const recovered: string[] = [];
    slots.on('redisRecovered', ({ operation }) => recovered.push(operation));
    const held = gate();
    const first = slots.execute(() => held.opened);
    await redis.quiet(clock);
    redis.hold = 'acquire';
    const second = slots.execute(() => 'failed open');
    await redis.quiet(clock);
    await clock.advance(5_000);
    await expect(second).resolves.toBe('failed open');
    // Redis refused it ({0, 1}) after the call stopped waiting: there is nothing to give back.
    redis.letGo();
    await redis.quiet(clock);
    expect(redis.sent.map(({ script }) => script)).toEqual(['acquire', 'acquire']);
    expect(recovered).toEqual([]);
    expect(slots.stats).toMatchObject({ redisAvailable: false, redisErrors: 1, failedOpen: 1, held: 1 });
    held.open();
    await first;
    await redis.quiet(clock);
    expect(recovered).toEqual(['release']);
  });

  it('asks its clock for a renewal timer that does not keep the process alive', async () => {
    // The clock contract: `unref` asks for a timer that does not keep the process alive.
    const clock = new TimerRecordingClock();
    const redis = controlled(connect());
    const slots = bulkheadOf({
      redis: redis.client,
      key: 'unref',
      prefix: freshPrefix(),
      limit: 1,
      leaseTtl: 300,
      clock,
    });
    const held = gate();
    const call = slots.execute(() => held.opened);
    await redis.quiet(clock);
    await clock.advance(100);
    await redis.quiet(clock);
    expect(clock.armed.filter((timer) => timer.ms === 100).map((timer) => timer.unref)).toEqual([true, true]);
    held.open();
    await call;
  });

  it('a call admitted without Redis sends no release for it', async () => {
    const clock = new VirtualClock();
    const redis = controlled(connect());
    const slots = bulkheadOf({ redis: redis.client, key: 'open', prefix: freshPrefix(), limit: 1, clock });
    const operations: string[] = [];
    slots.on('redisError', ({ operation }) => operations.push(operation));
    redis.down = true;
    await expect(slots.execute(() => 'admitted')).resolves.toBe('admitted');
    await expect(slots.execute(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await redis.quiet(clock);
    expect(operations).toEqual(['acquire', 'acquire']);
    expect(redis.sent.map(({ script }) => script)).toEqual(['acquire', 'acquire']);
    expect(slots.stats).toMatchObject({ redisErrors: 2, failedOpen: 2, held: 0 });
  });

  it('a local policy sees the success or failure of each call it admitted', async () => {
    const clock = new VirtualClock();
    const redis = controlled(connect());
    const local = bulkhead({ limit: 1 });
    const slots = bulkheadOf({
      redis: redis.client,
      key: 'local',
      prefix: freshPrefix(),
      limit: 1,
      clock,
      local,
    });
    const outcomes: unknown[] = [];
    local.on('success', ({ value }) => outcomes.push(['success', value]));
    local.on('failure', ({ error }) => outcomes.push(['failure', (error as Error).message]));
    redis.down = true;
    await expect(slots.execute(() => 'value')).resolves.toBe('value');
    await expect(slots.execute(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(outcomes).toEqual([
      ['success', 'value'],
      ['failure', 'boom'],
    ]);
    expect(local.stats.running).toBe(0);
  });
});

describeRedis('distributedRateLimit: behaviour pinned by its surviving mutants', () => {
  it('names the options, per, mode and maxWait in validation; accepts mode reject and maxWait Infinity', () => {
    const redis = connect();
    expect(() => distributedRateLimit(5 as never)).toThrow(
      'distributedRateLimit: options must be an object, got 5',
    );
    expect(() => distributedRateLimit({ redis, key: 'k', rate: 1, per: 0 })).toThrow(
      'distributedRateLimit: per must be a number > 0, got 0',
    );
    expect(distributedRateLimit({ redis, key: 'k', rate: 1, mode: 'reject' }).mode).toBe('reject');
    expect(distributedRateLimit({ redis, key: 'k', rate: 1, mode: 'wait' }).mode).toBe('wait');
    expect(() => distributedRateLimit({ redis, key: 'k', rate: 1, mode: 'queue' as never })).toThrow(
      'distributedRateLimit: mode must be one of "reject", "wait", got "queue"',
    );
    const limiter = distributedRateLimit({
      redis,
      key: 'k',
      rate: 1,
      mode: 'wait',
      maxWait: Number.POSITIVE_INFINITY,
    });
    expect(limiter.maxWait).toBe(Number.POSITIVE_INFINITY);
  });

  it('health: ok while Redis answers, degraded (failOpen) or down (failClosed) while it fails', async () => {
    const clock = new VirtualClock();
    const prefix = freshPrefix();
    const open = controlled(connect());
    const closed = controlled(connect());
    const limiter = rateLimitOf({ redis: open.client, key: 'health', prefix, rate: 10, clock });
    const strict = rateLimitOf({
      redis: closed.client,
      key: 'health',
      prefix,
      rate: 10,
      clock,
      onRedisError: 'failClosed',
    });
    await expect(limiter.execute(() => 1)).resolves.toBe(1);
    expect(limiter._health()).toMatchObject({
      kind: 'distributedRateLimit',
      status: 'ok',
      redisAvailable: true,
    });
    open.down = true;
    closed.down = true;
    await expect(limiter.execute(() => 2)).resolves.toBe(2);
    const error = await strict.execute(() => 3).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedisUnavailableError);
    expect((error as RedisUnavailableError).operation).toBe('take');
    expect(limiter._health()).toMatchObject({ status: 'degraded', redisAvailable: false });
    expect(strict._health()).toMatchObject({ status: 'down', redisAvailable: false });
  });

  it("checks a cost function's value on every call: an integer from 1 to burst", async () => {
    const costs = [0, 1.5, 6, 5];
    const limiter = rateLimitOf({
      redis: connect(),
      key: 'cost',
      prefix: freshPrefix(),
      rate: 5,
      per: 60_000,
      cost: () => costs.shift()!,
    });
    for (const got of ['0', '1.5', '6']) {
      const error = await limiter.execute(() => 'ran').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RangeError);
      expect((error as Error).message).toBe(
        `distributedRateLimit: cost must be an integer ≥ 1 and ≤ burst (5), got ${got}`,
      );
    }
    await expect(limiter.execute(() => 'whole burst')).resolves.toBe('whole burst');
    expect(limiter.stats).toMatchObject({ admitted: 1, available: 0 });
  });

  it('wait mode with no maxWait reserves a permit however far ahead it is', async () => {
    const clock = new VirtualClock();
    const redis = controlled(connect());
    const limiter = rateLimitOf({
      redis: redis.client,
      key: 'far',
      prefix: freshPrefix(),
      rate: 1,
      per: 600_000,
      burst: 1,
      mode: 'wait',
      clock,
    });
    const waits: number[] = [];
    limiter.on('wait', ({ delay }) => waits.push(delay));
    await expect(limiter.execute(() => 1)).resolves.toBe(1);
    let result: unknown;
    const second = limiter
      .execute(() => 2)
      .then((value) => {
        result = value;
      });
    await redis.quiet(clock);
    expect(redis.sent.map(({ script }) => script)).toEqual(['take', 'take']);
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeGreaterThan(590_000);
    expect(waits[0]).toBeLessThanOrEqual(600_000);
    expect(result).toBeUndefined();
    await clock.advance(600_000);
    await second;
    expect(result).toBe(2);
    expect(limiter.stats).toMatchObject({ admitted: 2, redisErrors: 0 });
  });

  it('a local policy sees the outcome of the calls it admitted; calls admitted by Redis fail as is', async () => {
    const clock = new VirtualClock();
    const redis = controlled(connect());
    const local = bulkhead({ limit: 1 });
    const limiter = rateLimitOf({
      redis: redis.client,
      key: 'local',
      prefix: freshPrefix(),
      rate: 10,
      clock,
      local,
    });
    const outcomes: unknown[] = [];
    local.on('success', ({ value }) => outcomes.push(['success', value]));
    local.on('failure', ({ error }) => outcomes.push(['failure', (error as Error).message]));
    redis.down = true;
    await expect(limiter.execute(() => 'value')).resolves.toBe('value');
    await expect(limiter.execute(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    redis.down = false;
    const error = await limiter
      .execute(() => Promise.reject(new Error('through Redis')))
      .catch((e: unknown) => e);
    expect(error).toEqual(new Error('through Redis'));
    expect(outcomes).toEqual([
      ['success', 'value'],
      ['failure', 'boom'],
    ]);
    expect(local.stats.running).toBe(0);
    expect(limiter.stats).toMatchObject({ failedOpen: 2, admitted: 1 });
    await expect(limiter.execute(() => 'next')).resolves.toBe('next');
  });
});
