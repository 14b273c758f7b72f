// sharedCircuitBreaker: exits, probes, flushes, ticks and events, pinned down one behaviour at a time.
// Time is the policy's VirtualClock; where Redis keeps time, the state is set in Redis directly.
import { expect, it, vi } from 'vitest';
import { CircuitOpenError, circuitBreaker } from '../../../src/index.js';
import {
  type RedisClient,
  RedisUnavailableError,
  type SharedCircuitBreakerOptions,
  sharedCircuitBreaker,
} from '../../../src/integrations/redis/index.js';
import { VirtualClock } from '../../../src/testing/index.js';
import { breakerOf, connect, describeRedis, freshPrefix } from './helpers.js';
import { gate } from '../../integrations/server/helpers.js';
import { TimerRecordingClock } from '../../helpers/clocks.js';

const fail = () => Promise.reject(new Error('dependency down'));
const ok = () => 'ok';

type Script = 'sync' | 'probe' | 'probeResult' | 'force';
/** Each script is told apart by its ARGV length (after the two keys). */
const SCRIPTS: Record<number, Script> = { 2: 'force', 3: 'probe', 7: 'probeResult', 11: 'sync' };

/** A real client that records each script sent, and can fail or hold the scripts named. */
function controlled() {
  const redis = connect();
  const sent: Script[] = [];
  const failing = new Set<Script>();
  const holding = new Set<Script>();
  const held: (() => Promise<unknown>)[] = [];
  const send = (run: () => Promise<unknown>, args: readonly unknown[]): Promise<unknown> => {
    const script = SCRIPTS[args.length - 2]!;
    sent.push(script);
    if (failing.has(script)) return Promise.reject(new Error(`${script} refused`));
    const result = run();
    if (!holding.has(script)) return result;
    return new Promise((resolve, reject) => {
      held.push(() => result.then(resolve, reject));
    });
  };
  const client: RedisClient = {
    evalsha: (sha, numkeys, ...args) => send(() => redis.evalsha(sha, numkeys, ...args), args),
    eval: (source, numkeys, ...args) => send(() => redis.eval(source, numkeys, ...args), args),
  };
  return {
    client,
    failing,
    holding,
    count: (script: Script) => sent.filter((s) => s === script).length,
    /** Delivers the held answers. */
    release: async () => {
      for (const deliver of held.splice(0)) await deliver();
    },
  };
}

/**
 * Instances of one shared breaker on one virtual clock. The Redis deadline is far beyond any
 * advance (Redis answers in real time, between advances), and no tick comes unless asked.
 */
function fleet(size: number, options: Partial<SharedCircuitBreakerOptions> = {}, clock = new VirtualClock()) {
  const prefix = freshPrefix();
  const admin = connect();
  const instances = Array.from({ length: size }, () => {
    const redis = controlled();
    const breaker = breakerOf({
      redis: redis.client,
      key: 'k',
      prefix,
      clock,
      redisTimeout: 1e9,
      syncInterval: 1_000_000,
      minimumCalls: 1,
      openFor: 60_000,
      halfOpenCalls: 1,
      ...options,
    });
    return { breaker, redis };
  });
  const stateKey = `${prefix}breaker:{k}`;
  /** The first instance trips the breaker; Redis then ends the open period and every cached one runs out. */
  const openThenExpire = async () => {
    const [first, ...others] = instances.map((i) => i.breaker);
    await first!.execute(fail).catch(() => {});
    await first!.flush();
    expect(first!.stats.state).toBe('open');
    for (const other of others) await other.flush();
    await admin.hset(stateKey, 'u', 0);
    await clock.advance(60_000);
  };
  return { clock, admin, stateKey, instances, openThenExpire };
}

/** Work that reports when it starts and ends when the returned `finish` is called. */
function heldWork() {
  const started = gate();
  const done = gate();
  return {
    started: started.opened,
    finish: done.open,
    work: async () => {
      started.open();
      await done.opened;
      return 'held';
    },
  };
}

describeRedis('sharedCircuitBreaker (breaker.ts from line 290)', () => {
  it('a call decided by `local` while Redis is down fails there, and its error reaches the caller', async () => {
    const down = () => Promise.reject(new Error('redis down'));
    const local = circuitBreaker({ consecutiveFailures: 1 });
    const breaker = sharedCircuitBreaker({
      redis: { evalsha: down, eval: down },
      key: 'k',
      prefix: freshPrefix(),
      local,
      clock: new VirtualClock(),
    });
    await expect(breaker.execute(fail)).rejects.toThrow('dependency down');
    expect(local.state).toBe('open');
  });

  it('slowness is measured on the clock, strictly beyond slowCallDuration, and only when it is set', async () => {
    const clock = new VirtualClock();
    const untracked = fleet(1, { minimumCalls: 10 }, clock).instances[0]!.breaker;
    await untracked.execute(async () => {
      await clock.advance(50);
    });
    await untracked.flush();
    expect(untracked.stats).toMatchObject({ calls: 1, slowCalls: 0 });

    const tracked = fleet(1, { minimumCalls: 10, slowCallDuration: 100 }, clock).instances[0]!.breaker;
    await tracked.execute(ok);
    await tracked.execute(async () => {
      await clock.advance(100);
    });
    await tracked.execute(async () => {
      await clock.advance(101);
    });
    await tracked.flush();
    expect(tracked.stats).toMatchObject({ calls: 3, slowCalls: 1 });
  });

  it('a slow call the caller gave up on counts neither as a call nor as a slow one', async () => {
    const clock = new VirtualClock();
    const breaker = fleet(1, { minimumCalls: 10, slowCallDuration: 100 }, clock).instances[0]!.breaker;
    const caller = new AbortController();
    const call = breaker.execute(
      async () => {
        await clock.advance(150);
        caller.abort(new Error('gave up'));
        throw new Error('too late');
      },
      { signal: caller.signal },
    );
    await expect(call).rejects.toThrow('gave up');
    await breaker.flush();
    expect(breaker.stats).toMatchObject({ calls: 0, slowCalls: 0 });
  });

  it('one unref’d sync timer per instance, however many calls enter cold or warm', async () => {
    const clock = new TimerRecordingClock();
    const { breaker } = fleet(1, { syncInterval: 1_000 }, clock).instances[0]!;
    await Promise.all([breaker.execute(ok), breaker.execute(ok)]);
    for (let i = 0; i < 3; i++) await breaker.execute(ok);
    expect(clock.armed.filter((t) => t.ms === 1_000)).toEqual([{ ms: 1_000, unref: true }]);
  });

  it('a tick syncs while a call runs; an outcome after the idle tick re-arms it and the next tick sends it', async () => {
    const { clock, instances } = fleet(1, { syncInterval: 1_000 });
    const { breaker, redis } = instances[0]!;
    const long = heldWork();
    const call = breaker.execute(long.work);
    await long.started;
    expect(redis.count('sync')).toBe(1);
    // The call entered since the last tick: the tick syncs, though nothing waits to be sent.
    await clock.advance(1_000);
    expect(redis.count('sync')).toBe(2);
    await breaker.flush();
    // Nothing entered since: this tick stops.
    await clock.advance(1_000);
    long.finish();
    await call;
    expect(breaker.stats.pending).toBe(1);
    // The outcome armed a timer; its tick takes the outcome at once.
    await clock.advance(1_000);
    expect(breaker.stats.pending).toBe(0);
    await breaker.flush();
    expect(breaker.stats.calls).toBe(1);
  });

  it('while its probe requests are in flight, an instance asks Redis for at most halfOpenCalls probes', async () => {
    const { instances, openThenExpire } = fleet(1);
    const { breaker, redis } = instances[0]!;
    await openThenExpire();
    const results = await Promise.allSettled([breaker.execute(ok), breaker.execute(ok), breaker.execute(ok)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
    for (const r of results.slice(1)) {
      expect((r as PromiseRejectedResult).reason).toMatchObject({ state: 'halfOpen' });
    }
    expect(redis.count('probe')).toBe(1);
  });

  it('once Redis says every probe is out, calls are rejected locally for exactly one syncInterval', async () => {
    const { clock, instances, openThenExpire } = fleet(1);
    const { breaker, redis } = instances[0]!;
    await openThenExpire();
    const probe = heldWork();
    const running = breaker.execute(probe.work);
    await probe.started;
    // Redis refuses: blocked until 60 000 + 1 000 000.
    await expect(breaker.execute(ok)).rejects.toMatchObject({ state: 'halfOpen' });
    expect(redis.count('probe')).toBe(2);
    await expect(breaker.execute(ok)).rejects.toMatchObject({ state: 'halfOpen' });
    await clock.advance(999_999);
    await breaker.flush();
    await expect(breaker.execute(ok)).rejects.toMatchObject({ state: 'halfOpen' });
    expect(redis.count('probe')).toBe(2);
    await clock.advance(1);
    await expect(breaker.execute(ok)).rejects.toMatchObject({ state: 'halfOpen' });
    expect(redis.count('probe')).toBe(3);
    probe.finish();
    await running;
  });

  it('a new half-open round lifts the local block of the previous one', async () => {
    const { admin, stateKey, instances, openThenExpire } = fleet(2);
    const [a, b] = instances;
    await openThenExpire();
    const first = heldWork();
    const firstCall = b!.breaker.execute(first.work);
    await first.started;
    // Every probe is out: a blocks itself for a syncInterval (1 000 000 ms; the clock will not get there).
    await expect(a!.breaker.execute(ok)).rejects.toMatchObject({ state: 'halfOpen' });
    await b!.breaker.reset();
    first.finish();
    await firstCall;
    await a!.breaker.flush();
    expect(a!.breaker.state).toBe('closed');
    // Open again, then half-open again with b's probe out and a second probe free.
    await a!.breaker.execute(fail).catch(() => {});
    await a!.breaker.flush();
    expect(a!.breaker.state).toBe('open');
    await admin.hset(stateKey, 'u', 0);
    await b!.breaker.flush();
    const second = heldWork();
    const secondCall = b!.breaker.execute(second.work);
    await second.started;
    await a!.breaker.flush();
    expect(a!.breaker.state).toBe('halfOpen');
    const asked = a!.redis.count('probe');
    await expect(a!.breaker.execute(ok)).rejects.toMatchObject({ state: 'halfOpen' });
    expect(a!.redis.count('probe')).toBe(asked + 1);
    second.finish();
    await secondCall;
  });

  it("a half-open round's local block ends when the breaker reopens", async () => {
    const { clock, admin, stateKey, instances, openThenExpire } = fleet(2);
    const [a, b] = instances;
    await openThenExpire();
    const started = gate();
    const verdict = gate();
    const probeCall = b!.breaker.execute(async () => {
      started.open();
      await verdict.opened;
      throw new Error('still down');
    });
    await started.opened;
    // Every probe is out: a blocks itself for a syncInterval (1 000 000 ms; the clock will not get there).
    await expect(a!.breaker.execute(ok)).rejects.toMatchObject({ state: 'halfOpen' });
    verdict.open();
    await expect(probeCall).rejects.toThrow('still down');
    await a!.breaker.flush();
    expect(a!.breaker.state).toBe('open');
    // The new open period ends (in Redis and in a's cache): a asks Redis for a probe again.
    await admin.hset(stateKey, 'u', 0);
    await clock.advance(60_000);
    const asked = a!.redis.count('probe');
    await expect(a!.breaker.execute(ok)).resolves.toBe('ok');
    expect(a!.redis.count('probe')).toBe(asked + 1);
  });

  it('a probe request that finds the breaker reopened rejects with the time Redis says is left', async () => {
    const { clock, instances } = fleet(1);
    const { breaker, redis } = instances[0]!;
    await breaker.execute(fail).catch(() => {});
    await breaker.flush();
    // The cached open period is over; Redis' (real time) is not.
    await clock.advance(60_000);
    const error = (await breaker.execute(ok).catch((e: unknown) => e)) as CircuitOpenError;
    expect(redis.count('probe')).toBe(1);
    expect(error).toBeInstanceOf(CircuitOpenError);
    expect(error.state).toBe('open');
    expect(error.retryAfter).toBeGreaterThan(0);
    expect(error.retryAfter).toBeLessThanOrEqual(60_000);
  });

  it('a failed probe request counts no probe as in flight: failClosed rejects naming it, then probing resumes', async () => {
    const { instances, openThenExpire } = fleet(1, { onRedisError: 'failClosed' });
    const { breaker, redis } = instances[0]!;
    await openThenExpire();
    redis.failing.add('probe');
    const error = await breaker.execute(ok).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedisUnavailableError);
    expect((error as RedisUnavailableError).operation).toBe('probe');
    redis.failing.delete('probe');
    await breaker.flush();
    await expect(breaker.execute(() => 'probe ran')).resolves.toBe('probe ran');
  });

  it('a probe request answered after redisTimeout without a grant hands back nothing', async () => {
    const { clock, admin, stateKey, instances, openThenExpire } = fleet(2, { redisTimeout: 50 });
    const [holder, late] = instances;
    // Warm: its next call acts on its cached state.
    await late!.breaker.execute(ok);
    await openThenExpire();
    const probe = heldWork();
    const running = holder!.breaker.execute(probe.work);
    await probe.started;
    expect(await admin.hget(stateKey, 'p')).toBe('1');
    late!.redis.holding.add('probe');
    const call = late!.breaker.execute(ok);
    expect(late!.redis.count('probe')).toBe(1);
    // Redis refused the probe, but the answer comes after redisTimeout: the call failed open meanwhile.
    await clock.advance(50);
    await expect(call).resolves.toBe('ok');
    await late!.redis.release();
    await clock.settle();
    expect(late!.redis.count('probeResult')).toBe(0);
    expect(await admin.hget(stateKey, 'p')).toBe('1');
    probe.finish();
    await running;
  });

  it('flushes again at once when maxBatch outcomes piled up during a flush', async () => {
    const { instances } = fleet(1, { maxBatch: 3 });
    const { breaker, redis } = instances[0]!;
    await breaker.execute(ok);
    await breaker.flush();
    const syncs = redis.count('sync');
    redis.holding.add('sync');
    for (let i = 0; i < 3; i++) await breaker.execute(ok);
    expect(redis.count('sync')).toBe(syncs + 1);
    for (let i = 0; i < 3; i++) await breaker.execute(ok);
    expect(breaker.stats.pending).toBe(3);
    redis.holding.delete('sync');
    await redis.release();
    await vi.waitFor(() => expect(redis.count('sync')).toBe(syncs + 2), { timeout: 2_000, interval: 5 });
    expect(breaker.stats.pending).toBe(0);
    await breaker.flush();
    expect(breaker.stats.calls).toBe(7);
  });

  it('redisError and redisRecovered name the operation; a failed flush drops and counts its outcomes', async () => {
    const { breaker, redis } = fleet(1, { minimumCalls: 10 }).instances[0]!;
    const seen: string[] = [];
    breaker.on('redisError', ({ operation }) => seen.push(`error:${operation}`));
    breaker.on('redisRecovered', ({ operation, errors }) => seen.push(`recovered:${operation}:${errors}`));
    for (let i = 0; i < 3; i++) await breaker.execute(ok);
    redis.failing.add('sync');
    await breaker.flush();
    expect(breaker.stats).toMatchObject({ pending: 0, dropped: 3 });
    redis.failing.delete('sync');
    await breaker.flush();
    redis.failing.add('sync');
    await breaker.flush();
    redis.failing.delete('sync');
    await breaker.reset();
    expect(seen).toEqual(['error:sync', 'recovered:sync:1', 'error:sync', 'recovered:force:1']);
  });

  it('redisRecovered names a probe request or a probe verdict when that is what Redis answered first', async () => {
    const { instances, openThenExpire } = fleet(1);
    const { breaker, redis } = instances[0]!;
    const seen: string[] = [];
    breaker.on('redisError', ({ operation }) => seen.push(`error:${operation}`));
    breaker.on('redisRecovered', ({ operation, errors }) => seen.push(`recovered:${operation}:${errors}`));
    await openThenExpire();
    redis.holding.add('probe');
    const probe = heldWork();
    const call = breaker.execute(probe.work);
    // A flush fails while the probe request waits for its answer.
    redis.failing.add('sync');
    await breaker.flush();
    redis.failing.delete('sync');
    redis.holding.delete('probe');
    await redis.release();
    await probe.started;
    // Another fails while the probe runs; its verdict is the next answer.
    redis.failing.add('sync');
    await breaker.flush();
    redis.failing.delete('sync');
    probe.finish();
    await call;
    await vi.waitFor(() => expect(seen).toHaveLength(4), { timeout: 2_000, interval: 5 });
    expect(seen).toEqual(['error:sync', 'recovered:probe:1', 'error:sync', 'recovered:probeResult:1']);
  });

  it('asks for at least 1 ms when openFor is 0', async () => {
    const { instances } = fleet(1, { openFor: 0 });
    const { breaker } = instances[0]!;
    const opened: unknown[] = [];
    breaker.on('open', (event) => opened.push(event));
    await breaker.execute(fail).catch(() => {});
    await breaker.flush();
    expect(opened).toEqual([
      { reason: 'failureRate', failureRate: 1, slowCallRate: 0, calls: 1, retryAfter: 1 },
    ]);
  });

  it('a growing openFor is given the length of the last open period', async () => {
    const asked: [number, number][] = [];
    const openFor = {
      delay: (count: number, previous: number) => {
        asked.push([count, previous]);
        return 60_000;
      },
    };
    const { instances, openThenExpire } = fleet(1, { openFor });
    const { breaker } = instances[0]!;
    await openThenExpire();
    await expect(breaker.execute(fail)).rejects.toThrow('dependency down');
    // The failed probe's verdict carries the next open period, after one of 60 000 ms.
    expect(asked.at(-1)).toEqual([2, 60_000]);
  });

  it('the open event gives the failure and slow-call rates over the calls that opened it', async () => {
    const clock = new VirtualClock();
    const failing = fleet(1, { minimumCalls: 4, failureRate: 0.5 }, clock).instances[0]!.breaker;
    const slow = fleet(1, { minimumCalls: 2, slowCallDuration: 100, slowCallRate: 0.5 }, clock).instances[0]!
      .breaker;
    const opened: unknown[] = [];
    for (const breaker of [failing, slow]) breaker.on('open', (event) => opened.push(event));
    for (const work of [ok, ok, fail, fail]) await failing.execute(work).catch(() => {});
    await failing.flush();
    await slow.execute(async () => {
      await clock.advance(101);
    });
    await slow.execute(ok);
    await slow.flush();
    expect(opened).toEqual([
      { reason: 'failureRate', failureRate: 0.5, slowCallRate: 0, calls: 4, retryAfter: 60_000 },
      { reason: 'slowCallRate', failureRate: 0, slowCallRate: 0.5, calls: 2, retryAfter: 60_000 },
    ]);
  });

  it('close events say why (release, reset), isolation is no close, and rejections are counted', async () => {
    const { breaker } = fleet(1).instances[0]!;
    const seen: string[] = [];
    breaker.on('stateChange', ({ from, to }) => seen.push(`${from}>${to}`));
    breaker.on('close', ({ reason }) => seen.push(`close:${reason}`));
    const release = breaker.isolate();
    await vi.waitFor(() => expect(seen).toContain('closed>isolated'), { timeout: 2_000, interval: 5 });
    await expect(breaker.execute(ok)).rejects.toMatchObject({ state: 'isolated' });
    await expect(breaker.execute(ok)).rejects.toMatchObject({ state: 'isolated' });
    expect(breaker.stats.rejected).toBe(2);
    release();
    await vi.waitFor(() => expect(seen).toContain('isolated>closed'), { timeout: 2_000, interval: 5 });
    await breaker.execute(fail).catch(() => {});
    await breaker.flush();
    await breaker.reset();
    expect(seen).toEqual([
      'closed>isolated',
      'isolated>closed',
      'close:release',
      'closed>open',
      'open>closed',
      'close:reset',
    ]);
  });
});
