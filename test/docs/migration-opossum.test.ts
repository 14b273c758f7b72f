// docs/migration/opossum.md maps opossum's options to bulwark policies. Each mapping is checked here
// by running opossum and bulwark side by side on the same work and comparing what a caller
// observes; the differences the guide states are checked as differences.
import fc from 'fast-check';
import CircuitBreaker from 'opossum';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  BulkheadFullError,
  bulkhead,
  CircuitOpenError,
  circuitBreaker,
  fallback,
  pipeline,
  ResilienceError,
  TimeoutError,
  timeout,
} from '../../src/index.js';

const breakers: CircuitBreaker[] = [];
/** An opossum breaker that is shut down after the test (opossum keeps timers per breaker). */
function opossum<A extends unknown[], R>(
  action: (...args: A) => Promise<R>,
  options: CircuitBreaker.Options,
) {
  const breaker = new CircuitBreaker(action, options);
  breakers.push(breaker);
  return breaker;
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  for (const breaker of breakers.splice(0)) breaker.shutdown();
  vi.useRealTimers();
});

/** Runs `pattern` (true: the call fails) through both; returns after which call each was open. */
async function openedAfter(
  pattern: boolean[],
  opossumOptions: CircuitBreaker.Options,
  bulwarkOptions: Parameters<typeof circuitBreaker>[0],
) {
  const work = async (fails: boolean) => {
    if (fails) throw new Error('down');
    return 'ok';
  };
  const before = opossum(work, opossumOptions);
  const after = circuitBreaker(bulwarkOptions);
  let beforeAt: number | undefined;
  let afterAt: number | undefined;
  for (const [i, fails] of pattern.entries()) {
    await before.fire(fails).catch(() => {});
    await after.execute(() => work(fails)).catch(() => {});
    if (beforeAt === undefined && before.opened) beforeAt = i + 1;
    if (afterAt === undefined && after.state === 'open') afterAt = i + 1;
  }
  return { beforeAt, afterAt };
}

describe('opossum → bulwark: breaker options', () => {
  it('errorThresholdPercentage + volumeThreshold ↔ failureRate + minimumCalls: the rules the guide states', async () => {
    // opossum: checked after a failure, opens above the threshold once `volumeThreshold` calls were made.
    // bulwark: checked after every call, opens at the threshold once the window holds `minimumCalls`.
    const model = (pattern: boolean[], rule: 'opossum' | 'bulwark') => {
      let failures = 0;
      for (const [i, fails] of pattern.entries()) {
        failures += fails ? 1 : 0;
        const calls = i + 1;
        if (calls < 4) continue;
        if (rule === 'opossum' ? fails && failures * 2 > calls : failures * 2 >= calls) return calls;
      }
      return undefined;
    };
    await fc.assert(
      fc.asyncProperty(fc.array(fc.boolean(), { minLength: 1, maxLength: 14 }), async (pattern) => {
        const { beforeAt, afterAt } = await openedAfter(
          pattern,
          { errorThresholdPercentage: 50, volumeThreshold: 4, timeout: false, rollingCountTimeout: 10_000 },
          { failureRate: 0.5, minimumCalls: 4, window: { type: 'time', duration: 10_000, buckets: 10 } },
        );
        expect(beforeAt).toBe(model(pattern, 'opossum'));
        expect(afterAt).toBe(model(pattern, 'bulwark'));
        // Away from the threshold, when the opening call is a failure, both open on the same call.
        let failures = 0;
        const exact = pattern.some((fails, i) => {
          failures += fails ? 1 : 0;
          return i + 1 >= 4 && failures * 2 === i + 1;
        });
        if (!exact && afterAt !== undefined && pattern[afterAt - 1] === true) expect(beforeAt).toBe(afterAt);
      }),
      { numRuns: 200 },
    );
  });

  it('the boundary the guide states: at exactly 50 %, opossum stays closed and failureRate 0.5 opens', async () => {
    const { beforeAt, afterAt } = await openedAfter(
      [false, true, false, true],
      { errorThresholdPercentage: 50, volumeThreshold: 4, timeout: false },
      { failureRate: 0.5, minimumCalls: 4, window: { type: 'time', duration: 10_000 } },
    );
    expect(beforeAt).toBeUndefined();
    expect(afterAt).toBe(4);
  });

  it('resetTimeout ↔ openFor: rejected until it passes, then one probe whose success closes', async () => {
    const work = async (fails: boolean) => {
      if (fails) throw new Error('down');
      return 'ok';
    };
    const before = opossum(work, { volumeThreshold: 1, resetTimeout: 5_000, timeout: false });
    const after = circuitBreaker({ consecutiveFailures: 1, openFor: 5_000 });
    await before.fire(true).catch(() => {});
    await after.execute(() => work(true)).catch(() => {});
    await vi.advanceTimersByTimeAsync(4_999);
    const rejected = [
      await before.fire(false).catch((e: { code?: string }) => e.code),
      await after.execute(() => work(false)).catch((e: unknown) => e instanceof CircuitOpenError),
    ];
    expect(rejected).toEqual(['EOPENBREAKER', true]);
    await vi.advanceTimersByTimeAsync(1);
    expect([before.halfOpen, after.state]).toEqual([true, 'halfOpen']);
    expect([await before.fire(false), await after.execute(() => work(false))]).toEqual(['ok', 'ok']);
    expect([before.closed, after.state]).toEqual([true, 'closed']);
  });

  it('timeout ↔ timeout() inside the breaker: a hanging call fails at the deadline and counts as a failure', async () => {
    const hang = () => new Promise<never>(() => {});
    const before = opossum(hang, { timeout: 1_000, volumeThreshold: 1, errorThresholdPercentage: 50 });
    const breaker = circuitBreaker({ consecutiveFailures: 1 });
    const after = pipeline(breaker, timeout({ ms: 1_000, strategy: 'aggressive' }));
    const start = Date.now();
    const outcomes = Promise.all([
      before.fire().catch((e: { code?: string }) => e.code),
      after.execute(hang).catch((e: unknown) => e instanceof TimeoutError && 'ERR_TIMEOUT'),
    ]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await outcomes).toEqual(['ETIMEDOUT', 'ERR_TIMEOUT']);
    expect(Date.now() - start).toBe(1_000);
    expect([before.opened, breaker.state]).toEqual([true, 'open']);
  });

  it('fallback() ↔ fallback outermost: answers failures and the open circuit alike', async () => {
    let beforeCalls = 0;
    let afterCalls = 0;
    const before = opossum(
      async () => {
        beforeCalls++;
        throw new Error('down');
      },
      { volumeThreshold: 2, timeout: false },
    );
    before.fallback(() => 'cached');
    const after = pipeline(
      fallback({ value: 'cached' }),
      circuitBreaker({ failureRate: 0.5, minimumCalls: 2 }),
    );
    const results: unknown[][] = [[], []];
    for (let i = 0; i < 4; i++) {
      results[0]?.push(await before.fire());
      results[1]?.push(
        await after.execute(async () => {
          afterCalls++;
          throw new Error('down');
        }),
      );
    }
    expect(results[1]).toEqual(results[0]);
    expect([beforeCalls, afterCalls]).toEqual([2, 2]);
  });

  it('errorFilter ↔ failOn + fallbackOn: a filtered error neither counts nor gets the fallback', async () => {
    const notFound = Object.assign(new Error('404'), { status: 404 });
    const filter = (e: unknown) => (e as { status?: number }).status === 404;
    const before = opossum(
      async () => {
        throw notFound;
      },
      { errorFilter: filter, volumeThreshold: 1, timeout: false },
    );
    before.fallback(() => 'cached');
    const breaker = circuitBreaker({ consecutiveFailures: 1, failOn: (e) => !filter(e) });
    const after = pipeline(fallback({ value: 'cached', fallbackOn: (e) => !filter(e) }), breaker);
    for (let i = 0; i < 3; i++) {
      expect(await before.fire().catch((e: unknown) => e)).toBe(notFound);
      expect(await after.execute(() => Promise.reject(notFound)).catch((e: unknown) => e)).toBe(notFound);
    }
    expect([before.closed, breaker.state]).toEqual([true, 'closed']);
  });

  it('capacity ↔ bulkhead({ limit }): calls beyond the limit are rejected at once', async () => {
    const slow = () => new Promise<string>((resolve) => setTimeout(() => resolve('done'), 100));
    const before = opossum(slow, { capacity: 2, timeout: false, volumeThreshold: 100 });
    const after = pipeline(circuitBreaker({ minimumCalls: 100 }), bulkhead({ limit: 2 }));
    const beforeCalls = Array.from({ length: 3 }, () =>
      before.fire().catch((e: { code?: string }) => e.code),
    );
    const afterCalls = Array.from({ length: 3 }, () =>
      after.execute(slow).catch((e: unknown) => e instanceof BulkheadFullError && 'ERR_BULKHEAD_FULL'),
    );
    await vi.advanceTimersByTimeAsync(100);
    expect(await Promise.all(beforeCalls)).toEqual(['done', 'done', 'ESEMLOCKED']);
    expect(await Promise.all(afterCalls)).toEqual(['done', 'done', 'ERR_BULKHEAD_FULL']);
  });

  it('toJSON().state ↔ snapshot(): an open breaker restored open', async () => {
    const before = opossum(
      async () => {
        throw new Error('down');
      },
      { volumeThreshold: 1, timeout: false },
    );
    await before.fire().catch(() => {});
    // opossum 9 restores from `options.state`; @types/opossum (8.x) does not declare it yet.
    const restoreOptions = { state: before.toJSON().state, timeout: false } as CircuitBreaker.Options;
    const restored = opossum(async () => 'ok', restoreOptions);
    const breaker = circuitBreaker({ consecutiveFailures: 1 });
    await breaker.execute(() => Promise.reject(new Error('down'))).catch(() => {});
    const after = circuitBreaker({ consecutiveFailures: 1, initialState: breaker.snapshot() });
    expect([restored.opened, after.state]).toEqual([true, 'open']);
  });

  it('isOurError ↔ instanceof ResilienceError', async () => {
    const before = opossum(() => new Promise<never>(() => {}), { timeout: 10 });
    const call = before.fire().catch((e: Error) => e);
    await vi.advanceTimersByTimeAsync(10);
    const beforeError = await call;
    const afterCall = timeout({ ms: 10, strategy: 'aggressive' })
      .execute(() => new Promise<never>(() => {}))
      .catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(10);
    expect(CircuitBreaker.isOurError(beforeError)).toBe(true);
    expect(await afterCall).toBeInstanceOf(ResilienceError);
    expect(CircuitBreaker.isOurError(new Error('app'))).toBe(false);
  });
});

describe('opossum → bulwark: differences the guide states', () => {
  it('capacity rejections: opossum counts them as failures and opens, bulwark does not', async () => {
    const slow = () => new Promise<string>((resolve) => setTimeout(() => resolve('done'), 100));
    const before = opossum(slow, {
      capacity: 1,
      timeout: false,
      volumeThreshold: 3,
      errorThresholdPercentage: 50,
    });
    const breaker = circuitBreaker({ failureRate: 0.5, minimumCalls: 3 });
    const after = pipeline(breaker, bulkhead({ limit: 1 }));
    const calls = [
      ...Array.from({ length: 4 }, () => before.fire().catch(() => 'rejected')),
      ...Array.from({ length: 4 }, () => after.execute(slow).catch(() => 'rejected')),
    ];
    await vi.advanceTimersByTimeAsync(100);
    await Promise.all(calls);
    expect(before.opened).toBe(true);
    expect(breaker.state).toBe('closed');
  });

  it('a late success closes a half-open opossum breaker while the probe still runs; bulwark ignores it', async () => {
    const results: string[] = [];
    for (const lib of ['opossum', 'bulwark'] as const) {
      let fail = false;
      const work = (ms: number) =>
        new Promise<string>((resolve, reject) =>
          setTimeout(() => (fail ? reject(new Error('down')) : resolve('ok')), ms),
        );
      const before =
        lib === 'opossum'
          ? opossum(work, { volumeThreshold: 1, resetTimeout: 1_000, timeout: false })
          : undefined;
      const breaker = circuitBreaker({ consecutiveFailures: 1, openFor: 1_000 });
      const run = (ms: number) => (before ? before.fire(ms) : breaker.execute(() => work(ms)));
      const state = () =>
        before ? (before.closed ? 'closed' : before.halfOpen ? 'halfOpen' : 'open') : breaker.state;

      const late = run(5_000).catch(() => {}); // started while closed, settles in 5 s
      fail = true;
      const failing = run(10).catch(() => {}); // fails: the breaker opens
      await vi.advanceTimersByTimeAsync(10);
      await failing;
      fail = false;
      await vi.advanceTimersByTimeAsync(1_000); // half-open
      const probe = run(10_000).catch(() => {}); // the real probe, slow
      await vi.advanceTimersByTimeAsync(4_000); // the late call succeeds now
      await late;
      results.push(`${lib}: ${state()}`);
      await vi.advanceTimersByTimeAsync(10_000);
      await probe;
    }
    expect(results).toEqual(['opossum: closed', 'bulwark: halfOpen']);
  });

  it("one call's timeout: opossum's abortController aborts every call in flight, bulwark only that call's signal", async () => {
    const aborted: string[] = [];
    const controller = new AbortController();
    const watch = (name: string, signal: AbortSignal, ms: number) =>
      new Promise<string>((resolve) => {
        signal.addEventListener('abort', () => aborted.push(name));
        setTimeout(() => resolve(name), ms);
      });
    const before = opossum((name: string, ms: number) => watch(name, controller.signal, ms), {
      timeout: 1_000,
      abortController: controller,
    });
    const after = timeout(1_000);
    const calls = [
      before.fire('opossum slow', 5_000).catch(() => {}),
      before.fire('opossum fast', 1_500).catch(() => {}),
      after.execute(({ signal }) => watch('bulwark slow', signal, 5_000)).catch(() => {}),
    ];
    await vi.advanceTimersByTimeAsync(400);
    calls.push(after.execute(({ signal }) => watch('bulwark fast', signal, 700)).catch(() => {}));
    await vi.advanceTimersByTimeAsync(10_000);
    await Promise.all(calls);
    expect(aborted.sort()).toEqual(['bulwark slow', 'opossum fast', 'opossum slow']);
  });
});
