import fc from 'fast-check';
import { expect, it, vi } from 'vitest';
import { BulkheadFullError, CircuitOpenError, backoff, bulkhead, pipeline } from '../../../src/index.js';
import type { RedisClient, SharedCircuitBreakerOptions } from '../../../src/integrations/redis/index.js';
import { VirtualClock } from '../../../src/testing/index.js';
import { breakerOf, connect, describeRedis, freshPrefix, pause, settleAll } from './helpers.js';

const fail = () => Promise.reject(new Error('dependency down'));
const ok = () => 'ok';

/** Several instances of one shared breaker, each with its own client (as separate pods would have). */
function fleet(size: number, options: Partial<SharedCircuitBreakerOptions> = {}) {
  const prefix = freshPrefix();
  return Array.from({ length: size }, () =>
    breakerOf({ redis: connect(), key: 'inventory', prefix, syncInterval: 20, ...options }),
  );
}

/** A client that counts the scripts sent through it. */
function counting(redis: RedisClient): RedisClient & { count: number } {
  const counter = {
    count: 0,
    evalsha(...args: Parameters<RedisClient['evalsha']>) {
      counter.count += 1;
      return redis.evalsha(...args);
    },
    eval(...args: Parameters<RedisClient['eval']>) {
      counter.count += 1;
      return redis.eval(...args);
    },
  };
  return counter;
}

function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

describeRedis('sharedCircuitBreaker (real Redis)', () => {
  it("one instance's failures open the breaker for every instance", async () => {
    const [a, b, c] = fleet(3, { minimumCalls: 5, failureRate: 0.5, openFor: 10_000 });
    // c is warm: it acts on its cached state and learns of the open within the staleness bound.
    await c!.execute(ok);
    for (let i = 0; i < 5; i++) await a!.execute(fail).catch(() => {});
    await a!.flush();
    expect(a!.state).toBe('open');
    // b is cold: its first call reads the state first.
    const error = await b!.execute(ok).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CircuitOpenError);
    expect((error as CircuitOpenError).state).toBe('open');
    expect((error as CircuitOpenError).retryAfter).toBeGreaterThan(9_000);
    await c!.execute(ok).catch(() => {});
    // syncInterval 20 ms + a round trip, with margin.
    await pause(80);
    await expect(c!.execute(ok)).rejects.toBeInstanceOf(CircuitOpenError);
  });

  it('window counts are shared: failures split across instances add up', async () => {
    const [a, b] = fleet(2, { minimumCalls: 6, failureRate: 0.5 });
    for (let i = 0; i < 2; i++) await a!.execute(fail).catch(() => {});
    for (let i = 0; i < 4; i++) await b!.execute(ok);
    await a!.flush();
    await b!.flush();
    expect(b!.stats).toMatchObject({ state: 'closed', calls: 6, failures: 2 });
    await a!.execute(fail).catch(() => {});
    await a!.flush();
    // 3 of the last 7 failed: still under 50 %.
    expect(a!.stats).toMatchObject({ state: 'closed', calls: 7, failures: 3 });
    await b!.execute(fail).catch(() => {});
    await b!.flush();
    // 4 of 8: at the threshold, it opens.
    expect(b!.state).toBe('open');
  });

  it('the count window keeps exactly the last `size` outcomes in flush order', async () => {
    // Trips only when all 7 outcomes in the window failed, which the property rules out.
    const [a, b] = fleet(2, {
      failureRate: 1,
      minimumCalls: 7,
      window: { type: 'count', size: 7 },
      syncInterval: 10_000,
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.boolean(), { maxLength: 9 }),
        fc.array(fc.boolean(), { maxLength: 9 }),
        async (fromA, fromB) => {
          fc.pre([...fromA, ...fromB].filter(Boolean).length < 7);
          await a!.reset();
          // b's view predates the reset: outcomes it admits under the old generation would not count.
          await b!.flush();
          for (const failed of fromA) await a!.execute(failed ? fail : ok).catch(() => {});
          await a!.flush();
          for (const failed of fromB) await b!.execute(failed ? fail : ok).catch(() => {});
          await b!.flush();
          const window = [...fromA, ...fromB].slice(-7);
          expect(b!.stats.calls).toBe(window.length);
          expect(b!.stats.failures).toBe(window.filter(Boolean).length);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('half-open admits exactly halfOpenCalls probes across the fleet; their success closes it', async () => {
    const instances = fleet(3, { minimumCalls: 2, openFor: 100, halfOpenCalls: 2 });
    const [a] = instances;
    for (let i = 0; i < 2; i++) await a!.execute(fail).catch(() => {});
    await a!.flush();
    expect(a!.state).toBe('open');
    await pause(120);
    const held = gate();
    let probes = 0;
    const calls = instances.flatMap((instance) =>
      Array.from({ length: 10 }, () =>
        instance.execute(async () => {
          probes += 1;
          await held.promise;
          return 'probe';
        }),
      ),
    );
    const settled = settleAll(calls);
    // Every call is decided by a Redis round trip: wait (bounded) until each
    // was either admitted as a probe or refused, however loaded the machine.
    let refused = 0;
    for (const call of calls) call.catch(() => refused++);
    await vi.waitFor(() => expect(probes + refused).toBe(30), { timeout: 5_000, interval: 10 });
    expect(probes).toBe(2);
    held.open();
    const { fulfilled, rejected } = await settled;
    expect(fulfilled).toBe(2);
    for (const error of rejected) {
      expect(error).toBeInstanceOf(CircuitOpenError);
      expect((error as CircuitOpenError).state).toBe('halfOpen');
    }
    await pause(60);
    for (const instance of instances) await expect(instance.execute(ok)).resolves.toBe('ok');
    expect(instances.map((i) => i.state)).toEqual(['closed', 'closed', 'closed']);
  });

  it('a failed probe reopens the breaker for longer (openFor as a backoff)', async () => {
    const [a, b] = fleet(2, {
      minimumCalls: 1,
      openFor: backoff.exponential({ initial: 100, factor: 3, jitter: 'none' }),
    });
    await a!.execute(fail).catch(() => {});
    await a!.flush();
    const first = (await a!.execute(ok).catch((e: unknown) => e)) as CircuitOpenError;
    expect(first.retryAfter).toBeLessThanOrEqual(100);
    await pause(110);
    await expect(b!.execute(fail)).rejects.toThrow('dependency down');
    await pause(10);
    const second = (await b!.execute(ok).catch((e: unknown) => e)) as CircuitOpenError;
    expect(second).toBeInstanceOf(CircuitOpenError);
    expect(second.state).toBe('open');
    expect(second.retryAfter).toBeGreaterThan(200);
    expect(b!.stats.openCount).toBe(2);
  });

  it('a call admitted before the breaker opened cannot close it or count after it', async () => {
    // Long syncInterval: each instance sees the fleet's state exactly when the test flushes.
    const [a, b] = fleet(2, { minimumCalls: 2, openFor: 60, syncInterval: 10_000 });
    const openAndCloseAgain = async () => {
      for (let i = 0; i < 2; i++) await b!.execute(fail).catch(() => {});
      await b!.flush();
      await a!.flush();
      expect(a!.state).toBe('open');
      await pause(70);
      // b's probe succeeds: the fleet closes under a new generation.
      await expect(b!.execute(ok)).resolves.toBe('ok');
      await a!.flush();
      expect(a!.state).toBe('closed');
    };
    await a!.execute(ok);
    // Admitted while closed; succeeds while the breaker is open: it is not a probe and closes nothing.
    const held = gate();
    const early = a!.execute(async () => {
      await held.promise;
      return 'late success';
    });
    for (let i = 0; i < 2; i++) await b!.execute(fail).catch(() => {});
    await b!.flush();
    await a!.flush();
    held.open();
    await expect(early).resolves.toBe('late success');
    await a!.flush();
    expect(a!.state).toBe('open');
    await pause(70);
    await expect(b!.execute(ok)).resolves.toBe('ok');
    await a!.flush();
    // Admitted while closed, fails after the breaker opened and closed again: not counted in the new window.
    const held2 = gate();
    const early2 = a!.execute(async () => {
      await held2.promise;
      throw new Error('late failure');
    });
    await openAndCloseAgain();
    held2.open();
    await expect(early2).rejects.toThrow('late failure');
    await a!.flush();
    expect(a!.stats).toMatchObject({ state: 'closed', calls: 0, failures: 0 });
  });

  it('consecutiveFailures counts failures in a row across instances', async () => {
    // Only consecutiveFailures given: the failure-rate trigger is off, as in circuitBreaker.
    const [a, b] = fleet(2, { consecutiveFailures: 4 });
    for (let i = 0; i < 2; i++) await a!.execute(fail).catch(() => {});
    await a!.flush();
    await b!.execute(ok);
    await b!.flush();
    for (let i = 0; i < 3; i++) await a!.execute(fail).catch(() => {});
    await a!.flush();
    expect(a!.state).toBe('closed');
    await b!.execute(fail).catch(() => {});
    await b!.flush();
    expect(b!.state).toBe('open');
  });

  it('a time window forgets outcomes older than its size', async () => {
    const [a, b] = fleet(2, { minimumCalls: 4, window: { type: 'time', duration: 200, buckets: 4 } });
    for (let i = 0; i < 3; i++) await a!.execute(fail).catch(() => {});
    await a!.flush();
    expect(a!.stats).toMatchObject({ calls: 3, failures: 3 });
    await pause(260);
    await b!.execute(fail).catch(() => {});
    await b!.flush();
    expect(b!.stats).toMatchObject({ state: 'closed', calls: 1, failures: 1 });
    for (let i = 0; i < 3; i++) await b!.execute(fail).catch(() => {});
    await b!.flush();
    expect(b!.state).toBe('open');
  });

  it('slow calls open the breaker at slowCallRate', async () => {
    const [a] = fleet(1, { minimumCalls: 2, slowCallRate: 0.6, slowCallDuration: 15 });
    await a!.execute(() => pause(25));
    await a!.execute(ok);
    await a!.flush();
    expect(a!.stats).toMatchObject({ state: 'closed', calls: 2, slowCalls: 1 });
    await a!.execute(() => pause(25));
    await a!.flush();
    expect(a!.state).toBe('open');
  });

  it("a caller's abort is not a failure; failOn decides which errors count", async () => {
    const [a] = fleet(1, {
      consecutiveFailures: 1,
      failOn: (error) => !(error instanceof Error && error.message === 'not found'),
    });
    const controller = new AbortController();
    const call = a!.execute(
      () =>
        new Promise((_, reject) =>
          controller.signal.addEventListener('abort', () => reject(controller.signal.reason)),
        ),
      {
        signal: controller.signal,
      },
    );
    await pause(5);
    controller.abort(new Error('user left'));
    await expect(call).rejects.toThrow('user left');
    await expect(a!.execute(() => Promise.reject(new Error('not found')))).rejects.toThrow('not found');
    await a!.flush();
    expect(a!.state).toBe('closed');
    await a!.execute(fail).catch(() => {});
    await a!.flush();
    expect(a!.state).toBe('open');
  });

  it('isolate() opens the breaker for the whole fleet until released; reset() closes it', async () => {
    const [a, b] = fleet(2, { minimumCalls: 1 });
    await b!.execute(ok);
    const release = a!.isolate();
    await expect(a!.execute(ok)).rejects.toMatchObject({ state: 'isolated' });
    await pause(60);
    await b!.execute(ok).catch(() => {});
    await expect(b!.execute(ok)).rejects.toMatchObject({ state: 'isolated' });
    expect(b!.state).toBe('isolated');
    release();
    await pause(60);
    await b!.execute(ok).catch(() => {});
    await expect(b!.execute(ok)).resolves.toBe('ok');
    await a!.execute(fail).catch(() => {});
    await a!.flush();
    expect(a!.state).toBe('open');
    await b!.reset();
    expect(b!.state).toBe('closed');
    await expect(b!.execute(ok)).resolves.toBe('ok');
  });

  it('the happy path makes no Redis round trip per call', async () => {
    const redis = counting(connect());
    const breaker = breakerOf({
      redis,
      key: 'hot',
      prefix: freshPrefix(),
      syncInterval: 5_000,
      maxBatch: 1_000,
    });
    for (let i = 0; i < 500; i++) await breaker.execute(ok);
    // The first call's read, nothing more.
    expect(redis.count).toBe(1);
    await breaker.flush();
    expect(breaker.stats.calls).toBe(100);
  });

  it('flushes early once maxBatch outcomes wait', async () => {
    const redis = counting(connect());
    const breaker = breakerOf({
      redis,
      key: 'batch',
      prefix: freshPrefix(),
      syncInterval: 5_000,
      maxBatch: 10,
    });
    for (let i = 0; i < 35; i++) await breaker.execute(ok);
    await pause(20);
    // No tick ran (5 s): every flush was triggered by the batch size.
    const { calls, pending } = breaker.stats;
    expect(redis.count).toBeGreaterThanOrEqual(3);
    expect(calls + pending).toBe(35);
    expect(pending).toBeLessThan(10);
  });

  it('holds no timer once idle, and refreshes before the first call after', async () => {
    const clock = new VirtualClock();
    const redis = counting(connect());
    const breaker = breakerOf({ redis, key: 'idle', prefix: freshPrefix(), syncInterval: 100, clock });
    await breaker.execute(ok);
    await breaker.execute(ok);
    // One tick flushes the outcomes, the next finds nothing happened and stops.
    await clock.advance(100);
    await breaker.flush();
    await clock.advance(100);
    // Past redisTimeout too: the Redis deadline timer, left armed (unref'd), fires on nothing and goes.
    await clock.advance(6_000);
    expect(clock.pending).toBe(0);
    expect(breaker.stats.calls).toBe(2);
    const before = redis.count;
    await breaker.execute(ok);
    expect(redis.count).toBe(before + 1);
  });

  it('emits open, halfOpen, close, reject and stateChange as each instance sees them', async () => {
    const [a, b] = fleet(2, { minimumCalls: 1, openFor: 60 });
    const seen: string[] = [];
    b!.on('stateChange', ({ from, to }) => seen.push(`${from}>${to}`));
    b!.on('open', ({ reason, calls, failureRate }) => seen.push(`open:${reason}:${calls}:${failureRate}`));
    b!.on('halfOpen', ({ probes }) => seen.push(`halfOpen:${probes}`));
    b!.on('close', ({ reason }) => seen.push(`close:${reason}`));
    b!.on('reject', ({ state }) => seen.push(`reject:${state}`));
    await b!.execute(ok);
    await a!.execute(fail).catch(() => {});
    await a!.flush();
    await b!.flush();
    await b!.execute(ok).catch(() => {});
    await pause(70);
    await b!.execute(ok);
    await pause(5);
    expect(seen).toEqual([
      'closed>open',
      'open:failureRate:1:1',
      'reject:open',
      'open>halfOpen',
      'halfOpen:1',
      'halfOpen>closed',
      'close:probes',
    ]);
    expect(b!._health()).toMatchObject({ kind: 'sharedCircuitBreaker', status: 'ok', state: 'closed' });
  });
  it('a probe whose caller left is handed back, so another call can probe', async () => {
    // A long syncInterval keeps each instance acting on its cached state, so the calls below take the probe path.
    const [a, b] = fleet(2, { minimumCalls: 1, openFor: 50, syncInterval: 10_000 });
    await b!.execute(ok);
    await a!.execute(fail).catch(() => {});
    await a!.flush();
    await b!.flush();
    expect(b!.state).toBe('open');
    await pause(60);
    // Left while the probe request was on its way: the granted probe goes back at once.
    const controller = new AbortController();
    const left = a!.execute(ok, { signal: controller.signal });
    controller.abort(new Error('left early'));
    await expect(left).rejects.toThrow('left early');
    await pause(20);
    // Left while the probe ran: not a failure, and the probe goes back too.
    const running = new AbortController();
    let probing = false;
    const aborted = b!.execute(
      ({ signal }) => {
        probing = true;
        return new Promise((_, reject) =>
          signal.addEventListener('abort', () => reject(signal.reason), { once: true }),
        );
      },
      { signal: running.signal },
    );
    await pause(20);
    expect(probing).toBe(true);
    running.abort(new Error('left mid-probe'));
    await expect(aborted).rejects.toThrow('left mid-probe');
    await pause(20);
    expect(b!.state).toBe('halfOpen');
    await expect(b!.execute(ok)).resolves.toBe('ok');
    await pause(10);
    expect(b!.state).toBe('closed');
  });

  it('an instance whose cached open period ended asks Redis, and runs if another instance closed it', async () => {
    const [a, b] = fleet(2, { minimumCalls: 1, openFor: 40, syncInterval: 10_000 });
    await b!.execute(ok);
    await a!.execute(fail).catch(() => {});
    await a!.flush();
    await b!.flush();
    expect(b!.state).toBe('open');
    await pause(50);
    await expect(a!.execute(ok)).resolves.toBe('ok');
    await pause(10);
    expect(a!.state).toBe('closed');
    // b still caches the open state; its probe request finds the breaker closed and runs the call.
    await expect(b!.execute(() => 'b runs')).resolves.toBe('b runs');
    expect(b!.state).toBe('closed');
  });

  it('an instance asking for a probe learns that the fleet reopened or was isolated meanwhile', async () => {
    // Real time on a real server: the open period is long enough that a
    // busy machine still gets b's call in before the reopened breaker half-opens.
    const [a, b, c] = fleet(3, { minimumCalls: 1, openFor: 300, syncInterval: 10_000 });
    await b!.execute(ok);
    await c!.execute(ok);
    await a!.execute(fail).catch(() => {});
    await a!.flush();
    await b!.flush();
    await c!.flush();
    await pause(320);
    // a takes the probe and fails it: the breaker reopens.
    await expect(a!.execute(fail)).rejects.toThrow('dependency down');
    await pause(10);
    const reopened = await b!.execute(ok).catch((e: unknown) => e);
    expect(reopened).toMatchObject({ state: 'open' });
    expect((reopened as CircuitOpenError).retryAfter).toBeGreaterThan(0);
    // c still caches the first open period, now over; meanwhile the fleet gets isolated.
    const release = a!.isolate();
    await pause(10);
    await expect(c!.execute(ok)).rejects.toMatchObject({ state: 'isolated' });
    release();
  });

  it('a throwing failOn leaves the call uncounted and surfaces its error', async () => {
    const [a] = fleet(1, {
      consecutiveFailures: 1,
      failOn: () => {
        throw new Error('broken predicate');
      },
    });
    await expect(a!.execute(fail)).rejects.toThrow('broken predicate');
    await a!.flush();
    expect(a!.stats).toMatchObject({ state: 'closed', calls: 0 });
  });

  it('failOnResult counts a successful result as a failure', async () => {
    const [a] = fleet(1, { consecutiveFailures: 2, failOnResult: (value) => value === 503 });
    await expect(a!.execute(() => 503)).resolves.toBe(503);
    await expect(a!.execute(() => 200)).resolves.toBe(200);
    await expect(a!.execute(() => 503)).resolves.toBe(503);
    await a!.flush();
    expect(a!.state).toBe('closed');
    await a!.execute(() => 503);
    await a!.flush();
    expect(a!.state).toBe('open');
  });

  it("a rejection by a layer inside (a full bulkhead) is not the dependency's failure", async () => {
    const [a] = fleet(1, { consecutiveFailures: 1 });
    const guarded = pipeline(a!, bulkhead({ limit: 1 }));
    const held = gate();
    const first = guarded.execute(() => held.promise);
    await pause(10);
    await expect(guarded.execute(ok)).rejects.toBeInstanceOf(BulkheadFullError);
    held.open();
    await first;
    await a!.flush();
    expect(a!.stats).toMatchObject({ state: 'closed', calls: 1, failures: 0 });
  });

  it('half-open probes decide by the failure rate, as in circuitBreaker', async () => {
    const [a, b] = fleet(2, { minimumCalls: 1, openFor: 40, halfOpenCalls: 4, failureRate: 0.5 });
    const reasons: string[] = [];
    b!.on('open', ({ reason }) => reasons.push(reason));
    const trip = async () => {
      await a!.execute(fail).catch(() => {});
      await a!.flush();
      await pause(50);
    };
    await trip();
    // 1 failure in 4 probes stays under 50 %: it closes once the last probe succeeded.
    const verdicts = [fail, ok, ok];
    for (const work of verdicts) await b!.execute(work).catch(() => {});
    await pause(10);
    expect(b!.state).toBe('halfOpen');
    await b!.execute(ok);
    await pause(10);
    expect(b!.state).toBe('closed');
    await trip();
    // 2 failures in 4 reach 50 %: it reopens at once, whatever the rest would say.
    await b!.execute(fail).catch(() => {});
    await b!.execute(fail).catch(() => {});
    await pause(10);
    expect(b!.state).toBe('open');
    expect(reasons).toContain('halfOpen');
  });

  it('a call that outlives the idle timer still reports its outcome', async () => {
    const clock = new VirtualClock();
    const breaker = breakerOf({
      redis: connect(),
      key: 'long',
      prefix: freshPrefix(),
      syncInterval: 100,
      clock,
    });
    let finish!: () => void;
    const long = breaker.execute(
      () =>
        new Promise<void>((resolve) => {
          finish = resolve;
        }),
    );
    await breaker.flush();
    await clock.advance(100);
    await breaker.flush();
    await clock.advance(100);
    finish();
    await long;
    // The outcome re-armed the timer: the next tick flushes it.
    await clock.advance(100);
    await breaker.flush();
    expect(breaker.stats.calls).toBe(1);
  });

  it("a caller's abort during the first refresh ends the call before it runs", async () => {
    const [a] = fleet(1);
    const controller = new AbortController();
    let ran = false;
    const call = a!.execute(
      () => {
        ran = true;
      },
      { signal: controller.signal },
    );
    controller.abort(new Error('gone'));
    await expect(call).rejects.toThrow('gone');
    await a!.flush();
    expect(ran).toBe(false);
  });
});
