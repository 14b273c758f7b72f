// docs/migration/cockatiel.md maps cockatiel's API to bulwark's. Each mapping is checked here by
// running cockatiel and bulwark side by side on the same work and comparing what a caller observes;
// the differences the guide states are checked as differences.
import {
  BrokenCircuitError,
  BulkheadRejectedError,
  bulkhead as cBulkhead,
  CircuitState,
  ConsecutiveBreaker,
  ConstantBackoff,
  CountBreaker,
  circuitBreaker as cCircuitBreaker,
  ExponentialBackoff,
  fallback as cFallback,
  handleAll,
  handleType,
  handleWhenResult,
  noJitterGenerator,
  retry as cRetry,
  TaskCancelledError,
  TimeoutStrategy,
  timeout as cTimeout,
  wrap,
} from 'cockatiel';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  BulkheadFullError,
  backoff,
  bulkhead,
  CircuitOpenError,
  circuitBreaker,
  fallback,
  pipeline,
  retry,
  TimeoutError,
  timeout,
} from '../../src/index.js';

/** Work that fails on the calls `fails` names, recording when each call started (fake ms). */
function recorder(fails: (call: number) => unknown = () => new Error('down')) {
  const start = Date.now();
  const calls: number[] = [];
  const work = async () => {
    calls.push(Date.now() - start);
    const error = fails(calls.length);
    if (error !== undefined) throw error;
    return `ok on call ${calls.length}`;
  };
  return { calls, work };
}

/** Settles `promise` while fake time runs; returns its outcome. */
async function settle<T>(promise: Promise<T>): Promise<{ value: T } | { error: unknown }> {
  const outcome = promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  await vi.runAllTimersAsync();
  return outcome;
}

/** Work that never settles, whatever its signal says: only the timeout can end the call. */
const hang = (_ctx: { signal: AbortSignal }) => new Promise<never>(() => {});

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('cockatiel → bulwark: retry', () => {
  it('cockatiel maxAttempts: n (retries) makes the calls of bulwark maxAttempts: n + 1', async () => {
    for (const n of [0, 1, 2, 4]) {
      const before = recorder();
      const beforeOutcome = await settle(cRetry(handleAll, { maxAttempts: n }).execute(before.work));
      const after = recorder();
      const afterOutcome = await settle(retry({ maxAttempts: n + 1, backoff: 0 }).execute(after.work));
      expect(after.calls).toEqual(before.calls);
      expect(after.calls).toHaveLength(n + 1);
      expect(String((afterOutcome as { error: Error }).error)).toBe(
        String((beforeOutcome as { error: Error }).error),
      );
    }
  });

  it('ConstantBackoff(ms) waits as backoff.constant(ms) and as a plain number', async () => {
    const before = recorder();
    await settle(
      cRetry(handleAll, { maxAttempts: 3, backoff: new ConstantBackoff(250) }).execute(before.work),
    );
    const after = recorder();
    await settle(retry({ maxAttempts: 4, backoff: backoff.constant(250) }).execute(after.work));
    const plain = recorder();
    await settle(retry({ maxAttempts: 4, backoff: 250 }).execute(plain.work));
    expect(after.calls).toEqual(before.calls);
    expect(plain.calls).toEqual(before.calls);
    expect(before.calls).toEqual([0, 250, 500, 750]);
  });

  it('ExponentialBackoff with noJitterGenerator waits as backoff.exponential({ jitter: none })', async () => {
    const before = recorder();
    const exp = new ExponentialBackoff({ generator: noJitterGenerator, initialDelay: 100, maxDelay: 500 });
    await settle(cRetry(handleAll, { maxAttempts: 4, backoff: exp }).execute(before.work));
    const after = recorder();
    await settle(
      retry({
        maxAttempts: 5,
        backoff: backoff.exponential({ initial: 100, max: 500, jitter: 'none' }),
      }).execute(after.work),
    );
    expect(after.calls).toEqual(before.calls);
    expect(before.calls).toEqual([0, 100, 300, 700, 1_200]);
  });

  it('noJitterGenerator ignores exponent (always doubles); bulwark applies factor', async () => {
    const before = recorder();
    const exp = new ExponentialBackoff({ generator: noJitterGenerator, initialDelay: 100, exponent: 3 });
    await settle(cRetry(handleAll, { maxAttempts: 2, backoff: exp }).execute(before.work));
    const after = recorder();
    await settle(
      retry({
        maxAttempts: 3,
        backoff: backoff.exponential({ initial: 100, factor: 3, jitter: 'none' }),
      }).execute(after.work),
    );
    expect(before.calls).toEqual([0, 100, 300]);
    expect(after.calls).toEqual([0, 100, 400]);
  });

  it('context.attempt is 0-based in cockatiel, ctx.attempt 1-based in bulwark', async () => {
    const before: number[] = [];
    const after: number[] = [];
    await settle(
      cRetry(handleAll, { maxAttempts: 2 }).execute(({ attempt }) => {
        before.push(attempt);
        throw new Error('down');
      }),
    );
    await settle(
      retry({ maxAttempts: 3, backoff: 0 }).execute(({ attempt }) => {
        after.push(attempt);
        throw new Error('down');
      }),
    );
    expect(before).toEqual([0, 1, 2]);
    expect(after).toEqual(before.map((attempt) => attempt + 1));
  });

  it('onRetry ↔ on("retry"): the same attempt numbers and delays; onGiveUp ↔ on("giveUp")', async () => {
    const before: string[] = [];
    const c = cRetry(handleAll, { maxAttempts: 2, backoff: new ConstantBackoff(10) });
    c.onRetry(({ attempt, delay }) => before.push(`retry ${attempt} after ${delay}`));
    c.onGiveUp(() => before.push('give up'));
    await settle(c.execute(recorder().work));
    const after: string[] = [];
    const b = retry({ maxAttempts: 3, backoff: 10 });
    b.on('retry', ({ attempt, delay }) => after.push(`retry ${attempt} after ${delay}`));
    b.on('giveUp', () => after.push('give up'));
    await settle(b.execute(recorder().work));
    expect(after).toEqual(before);
    expect(before).toEqual(['retry 1 after 10', 'retry 2 after 10', 'give up']);
  });

  it('handleType(Cls) ↔ retryOn: instanceof: other errors end the retries', async () => {
    class Transient extends Error {}
    const fails = (call: number) => (call < 3 ? new Transient('blip') : new Error('fatal'));
    const before = recorder(fails);
    await settle(cRetry(handleType(Transient), { maxAttempts: 5 }).execute(before.work));
    const after = recorder(fails);
    await settle(
      retry({ maxAttempts: 6, backoff: 0, retryOn: (e) => e instanceof Transient }).execute(after.work),
    );
    expect(after.calls).toEqual(before.calls);
    expect(after.calls).toHaveLength(3);
  });

  it('handleWhenResult(pred) ↔ retryOnResult: results are retried, the last one returned', async () => {
    let beforeCalls = 0;
    const before = await settle(
      cRetry(
        handleWhenResult((r) => (r as { status: number }).status === 503),
        { maxAttempts: 2 },
      ).execute(() => ({ status: ++beforeCalls < 10 ? 503 : 200 })),
    );
    let afterCalls = 0;
    const after = await settle(
      retry({
        maxAttempts: 3,
        backoff: 0,
        retryOnResult: (r) => (r as { status: number }).status === 503,
      }).execute(() => ({ status: ++afterCalls < 10 ? 503 : 200 })),
    );
    expect(after).toEqual(before);
    expect(after).toEqual({ value: { status: 503 } });
    expect(afterCalls).toBe(beforeCalls);
  });
});

describe('cockatiel → bulwark: circuit breaker', () => {
  it('ConsecutiveBreaker(n) ↔ consecutiveFailures: n: opens on the same call, then rejects without calling', async () => {
    const before = recorder();
    const c = cCircuitBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(3) });
    const beforeErrors: unknown[] = [];
    for (let i = 0; i < 5; i++) beforeErrors.push(await c.execute(before.work).catch((e: unknown) => e));
    const after = recorder();
    const b = circuitBreaker({ consecutiveFailures: 3, openFor: 10_000 });
    const afterErrors: unknown[] = [];
    for (let i = 0; i < 5; i++) afterErrors.push(await b.execute(after.work).catch((e: unknown) => e));
    expect(after.calls).toEqual(before.calls);
    expect(after.calls).toHaveLength(3);
    expect(beforeErrors.slice(3).every((e) => e instanceof BrokenCircuitError)).toBe(true);
    expect(afterErrors.slice(3).every((e) => e instanceof CircuitOpenError)).toBe(true);
    expect(c.state).toBe(CircuitState.Open);
    expect(b.state).toBe('open');
  });

  it('halfOpenAfter ↔ openFor: one probe after the delay; its success closes, its failure reopens', async () => {
    for (const probeSucceeds of [true, false]) {
      const states: string[][] = [[], []];
      const c = cCircuitBreaker(handleAll, { halfOpenAfter: 1_000, breaker: new ConsecutiveBreaker(1) });
      const b = circuitBreaker({ consecutiveFailures: 1, openFor: 1_000 });
      await c.execute(recorder().work).catch(() => {});
      await b.execute(recorder().work).catch(() => {});
      await vi.advanceTimersByTimeAsync(999);
      const early = [
        await c.execute(() => 'x').catch((e: unknown) => e instanceof BrokenCircuitError),
        await b.execute(() => 'x').catch((e: unknown) => e instanceof CircuitOpenError),
      ];
      expect(early).toEqual([true, true]);
      await vi.advanceTimersByTimeAsync(1);
      const probe = () => (probeSucceeds ? Promise.resolve('ok') : Promise.reject(new Error('still down')));
      await c.execute(probe).catch(() => {});
      await b.execute(probe).catch(() => {});
      states[0]?.push(CircuitState[c.state].toLowerCase());
      states[1]?.push(b.state);
      expect(states[1]).toEqual(states[0]);
      expect(b.state).toBe(probeSucceeds ? 'closed' : 'open');
    }
  });

  it('CountBreaker ↔ failureRate over a count window: the same opening away from the threshold', async () => {
    // 3 failures in 5 calls: 60 % is above 50 % for both.
    const pattern = [false, true, false, true, true];
    const c = cCircuitBreaker(handleAll, {
      halfOpenAfter: 10_000,
      breaker: new CountBreaker({ threshold: 0.5, size: 5, minimumNumberOfCalls: 5 }),
    });
    const b = circuitBreaker({
      failureRate: 0.5,
      window: { type: 'count', size: 5 },
      minimumCalls: 5,
      openFor: 10_000,
    });
    for (const fails of pattern) {
      const work = async () => {
        if (fails) throw new Error('down');
        return 'ok';
      };
      await c.execute(work).catch(() => {});
      await b.execute(work).catch(() => {});
    }
    expect(c.state).toBe(CircuitState.Open);
    expect(b.state).toBe('open');
  });

  it('CountBreaker opens above the threshold, failureRate at it (the boundary the guide states)', async () => {
    const pattern = [false, true, false, true]; // exactly 50 %
    const c = cCircuitBreaker(handleAll, {
      halfOpenAfter: 10_000,
      breaker: new CountBreaker({ threshold: 0.5, size: 4, minimumNumberOfCalls: 4 }),
    });
    const b = circuitBreaker({ failureRate: 0.5, window: { type: 'count', size: 4 }, minimumCalls: 4 });
    for (const fails of pattern) {
      const work = async () => {
        if (fails) throw new Error('down');
        return 'ok';
      };
      await c.execute(work).catch(() => {});
      await b.execute(work).catch(() => {});
    }
    expect(c.state).toBe(CircuitState.Closed);
    expect(b.state).toBe('open');
  });

  it('isolate(): cockatiel returns { dispose }, bulwark a function; both hold the circuit open until released', async () => {
    const c = cCircuitBreaker(handleAll, { halfOpenAfter: 1_000, breaker: new ConsecutiveBreaker(3) });
    const b = circuitBreaker({ consecutiveFailures: 3 });
    const handle = c.isolate();
    const release = b.isolate();
    expect(await c.execute(() => 'x').catch((e: unknown) => e instanceof BrokenCircuitError)).toBe(true);
    expect(await b.execute(() => 'x').catch((e: unknown) => (e as CircuitOpenError).state)).toBe('isolated');
    handle.dispose();
    release();
    expect(await c.execute(() => 'x')).toBe('x');
    expect(await b.execute(() => 'x')).toBe('x');
  });

  it('toJSON()/initialState ↔ snapshot()/initialState: an open breaker stays open across a restart', async () => {
    const c = cCircuitBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(1) });
    const b = circuitBreaker({ consecutiveFailures: 1, openFor: 10_000 });
    await c.execute(recorder().work).catch(() => {});
    await b.execute(recorder().work).catch(() => {});
    const c2 = cCircuitBreaker(handleAll, {
      halfOpenAfter: 10_000,
      breaker: new ConsecutiveBreaker(1),
      initialState: c.toJSON(),
    });
    const b2 = circuitBreaker({ consecutiveFailures: 1, openFor: 10_000, initialState: b.snapshot() });
    expect(c2.state).toBe(CircuitState.Open);
    expect(b2.state).toBe('open');
    expect(JSON.parse(JSON.stringify(b.snapshot()))).toEqual(b.snapshot());
  });
});

describe('cockatiel → bulwark: timeout, bulkhead, fallback, wrap', () => {
  it('TimeoutStrategy.Aggressive ↔ strategy: aggressive: rejects at the deadline, the signal aborted', async () => {
    const seen: boolean[] = [];
    const never = ({ signal }: { signal: AbortSignal }) => {
      signal.addEventListener('abort', () => seen.push(true));
      return new Promise<never>(() => {});
    };
    const start = Date.now();
    const before = cTimeout(500, TimeoutStrategy.Aggressive).execute(never);
    const after = timeout({ ms: 500, strategy: 'aggressive' }).execute(never);
    const outcomes = await settle(Promise.allSettled([before, after]));
    const [b, a] = (outcomes as { value: PromiseSettledResult<never>[] }).value;
    expect((b as PromiseRejectedResult).reason).toBeInstanceOf(TaskCancelledError);
    expect((a as PromiseRejectedResult).reason).toBeInstanceOf(TimeoutError);
    expect(Date.now() - start).toBe(500);
    expect(seen).toEqual([true, true]);
  });

  it('TimeoutStrategy.Cooperative ↔ the default: waits for the work to honour the signal', async () => {
    const start = Date.now();
    const slowToStop = ({ signal }: { signal: AbortSignal }) =>
      new Promise<string>((resolve) =>
        signal.addEventListener('abort', () => setTimeout(() => resolve('late'), 200)),
      );
    const before = await settle(cTimeout(500, TimeoutStrategy.Cooperative).execute(slowToStop));
    const beforeAt = Date.now() - start;
    const after = await settle(timeout(500).execute(slowToStop));
    const afterAt = Date.now() - start - beforeAt;
    expect(beforeAt).toBe(700);
    expect(afterAt).toBe(700);
    // Both let the work settle; bulwark reports the deadline that passed, cockatiel returns the late value.
    expect(before).toEqual({ value: 'late' });
    expect(after).toEqual({ value: 'late' });
  });

  it('bulkhead(limit, queue) ↔ bulkhead({ limit, queue }): the same calls run, queue and are rejected', async () => {
    const c = cBulkhead(2, 1);
    const b = bulkhead({ limit: 2, queue: 1 });
    const run = (policy: { execute: (fn: () => Promise<string>) => Promise<string> }) =>
      Array.from({ length: 4 }, (_, i) =>
        policy
          .execute(() => new Promise((resolve) => setTimeout(() => resolve(`call ${i}`), 100)))
          .catch((e: unknown) => e),
      );
    const outcomes = await settle(Promise.all([Promise.all(run(c)), Promise.all(run(b))]));
    const [before, after] = (outcomes as { value: unknown[][] }).value as [unknown[], unknown[]];
    expect(before.slice(0, 3)).toEqual(['call 0', 'call 1', 'call 2']);
    expect(after.slice(0, 3)).toEqual(before.slice(0, 3));
    expect(before[3]).toBeInstanceOf(BulkheadRejectedError);
    expect(after[3]).toBeInstanceOf(BulkheadFullError);
  });

  it('fallback(handleAll, fn) ↔ fallback({ value }): the same value replaces a failure', async () => {
    const before = await cFallback(handleAll, () => 'cached').execute(() =>
      Promise.reject(new Error('down')),
    );
    const after = await fallback({ value: () => 'cached' }).execute(() => Promise.reject(new Error('down')));
    expect(after).toBe(before);
  });

  it('wrap(retry, timeout) ↔ pipeline(retry, timeout): a per-attempt deadline, the same calls at the same times', async () => {
    const before = recorder();
    const c = wrap(
      cRetry(handleAll, { maxAttempts: 2, backoff: new ConstantBackoff(100) }),
      cTimeout(1_000, TimeoutStrategy.Aggressive),
    );
    const beforeOutcome = await settle(
      c.execute((ctx) => {
        before.work().catch(() => {});
        return hang(ctx);
      }),
    );
    const after = recorder();
    const b = pipeline(
      retry({ maxAttempts: 3, backoff: 100 }),
      timeout({ ms: 1_000, strategy: 'aggressive' }),
    );
    const afterOutcome = await settle(
      b.execute((ctx) => {
        after.work().catch(() => {});
        return hang(ctx);
      }),
    );
    expect(after.calls).toEqual(before.calls);
    expect(before.calls).toEqual([0, 1_100, 2_200]);
    expect((beforeOutcome as { error: unknown }).error).toBeInstanceOf(TaskCancelledError);
    expect((afterOutcome as { error: unknown }).error).toBeInstanceOf(TimeoutError);
  });
});

describe('cockatiel → bulwark: differences the guide states', () => {
  it('abort during a backoff wait: cockatiel waits it out and calls once more, bulwark rejects at once', async () => {
    const results: { calls: number; at: number }[] = [];
    for (const lib of ['cockatiel', 'bulwark'] as const) {
      const controller = new AbortController();
      const start = Date.now();
      let calls = 0;
      const work = async () => {
        calls++;
        throw new Error('down');
      };
      const call =
        lib === 'cockatiel'
          ? cRetry(handleAll, { maxAttempts: 1, backoff: new ConstantBackoff(10_000) }).execute(
              work,
              controller.signal,
            )
          : retry({ maxAttempts: 2, backoff: 10_000 }).execute(work, { signal: controller.signal });
      const settled = call.catch(() => Date.now() - start);
      await vi.advanceTimersByTimeAsync(1_000);
      controller.abort(new Error('cancelled'));
      await vi.runAllTimersAsync();
      results.push({ calls, at: await settled });
    }
    expect(results).toEqual([
      { calls: 2, at: 10_000 },
      { calls: 1, at: 1_000 },
    ]);
  });

  it("the caller's abort under a timeout: cockatiel reports a TaskCancelledError, bulwark the caller's reason", async () => {
    const reason = new Error('user left');
    const c = new AbortController();
    const b = new AbortController();
    const before = cTimeout(5_000, TimeoutStrategy.Aggressive).execute(hang, c.signal);
    const after = timeout({ ms: 5_000, strategy: 'aggressive' }).execute(hang, { signal: b.signal });
    c.abort(reason);
    b.abort(reason);
    const outcomes = await settle(Promise.allSettled([before, after]));
    const [x, y] = (outcomes as { value: PromiseRejectedResult[] }).value;
    expect(x?.reason).toBeInstanceOf(TaskCancelledError);
    expect(y?.reason).toBe(reason);
  });

  it('an open circuit under handleAll: cockatiel retries BrokenCircuitError, bulwark stops at once', async () => {
    let called = 0;
    const work = () => {
      called++;
      return 'never called';
    };
    const cBreaker = cCircuitBreaker(handleAll, {
      halfOpenAfter: 60_000,
      breaker: new ConsecutiveBreaker(1),
    });
    cBreaker.isolate();
    const cRetryPolicy = cRetry(handleAll, { maxAttempts: 2 });
    let beforeRetries = 0;
    cRetryPolicy.onRetry(() => beforeRetries++);
    const before = await settle(wrap(cRetryPolicy, cBreaker).execute(work));

    const bBreaker = circuitBreaker({ consecutiveFailures: 1, openFor: 60_000 });
    bBreaker.isolate();
    const bRetryPolicy = retry({ maxAttempts: 3, backoff: 0 });
    let afterRetries = 0;
    bRetryPolicy.on('retry', () => afterRetries++);
    const after = await settle(pipeline(bRetryPolicy, bBreaker).execute(work));

    expect(called).toBe(0);
    expect((before as { error: unknown }).error).toBeInstanceOf(BrokenCircuitError);
    expect((after as { error: unknown }).error).toBeInstanceOf(CircuitOpenError);
    expect([beforeRetries, afterRetries]).toEqual([2, 0]);
  });
});
