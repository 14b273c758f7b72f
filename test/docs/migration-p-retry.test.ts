// docs/migration/p-retry.md maps p-retry's options to bulwark's. Each mapping is checked here by
// running p-retry and bulwark side by side on the same work and comparing what a caller observes:
// the calls made, when they were made, the outcome. Differences the guide states are checked too.
import fc from 'fast-check';
import pRetry, { AbortError } from 'p-retry';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { backoff, ResilienceError, retry } from '../../src/index.js';

/** What a caller observes: when each call started (fake ms), and the outcome. */
interface Observed {
  calls: number[];
  outcome: { value: unknown } | { error: unknown };
}

/** Runs `run(work)` under fake timers, the work failing as `fails(call)` says, until it settles. */
async function observe(
  run: (work: (attempt: number) => Promise<string>) => Promise<unknown>,
  fails: (call: number) => unknown = () => new Error('down'),
): Promise<Observed> {
  const start = Date.now();
  const calls: number[] = [];
  const work = async () => {
    calls.push(Date.now() - start);
    const error = fails(calls.length);
    if (error !== undefined) throw error;
    return `ok on call ${calls.length}`;
  };
  const settled = run(work).then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  await vi.runAllTimersAsync();
  return { calls, outcome: await settled };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('p-retry → bulwark: options', () => {
  it('retries: n makes the same calls as maxAttempts: n + 1, and rejects with the same last error', async () => {
    for (const retries of [0, 1, 2, 5]) {
      const errors = Array.from({ length: retries + 1 }, (_, i) => new Error(`failure ${i + 1}`));
      const fails = (call: number) => errors[call - 1];
      const before = await observe((work) => pRetry(work, { retries, minTimeout: 0 }), fails);
      const after = await observe(
        (work) => retry({ maxAttempts: retries + 1, backoff: 0 }).execute(({ attempt }) => work(attempt)),
        fails,
      );
      expect(after).toEqual(before);
      expect(after.calls).toHaveLength(retries + 1);
      expect(after.outcome).toEqual({ error: errors[retries] });
    }
  });

  it('minTimeout, factor, maxTimeout (randomize: false) wait as backoff.exponential({ initial, factor, max, jitter: none })', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 2_000 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 0, max: 20_000 }),
        async (retries, minTimeout, factor, extra) => {
          const maxTimeout = minTimeout + extra;
          const before = await observe((work) => pRetry(work, { retries, minTimeout, factor, maxTimeout }));
          const policy = retry({
            maxAttempts: retries + 1,
            backoff: backoff.exponential({ initial: minTimeout, factor, max: maxTimeout, jitter: 'none' }),
          });
          const after = await observe((work) => policy.execute(({ attempt }) => work(attempt)));
          expect(after.calls).toEqual(before.calls);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('the first attempt number is 1 in both', async () => {
    const before: number[] = [];
    const after: number[] = [];
    await observe((work) =>
      pRetry(
        (n) => {
          before.push(n);
          return work(n);
        },
        { retries: 2, minTimeout: 0 },
      ),
    );
    await observe((work) =>
      retry({ maxAttempts: 3, backoff: 0 }).execute(({ attempt }) => {
        after.push(attempt);
        return work(attempt);
      }),
    );
    expect(after).toEqual(before);
    expect(before).toEqual([1, 2, 3]);
  });

  it('shouldRetry ↔ retryOn: an error the predicate refuses ends the retries with that error', async () => {
    class Fatal extends Error {}
    const fails = (call: number) => (call === 2 ? new Fatal('fatal') : new Error('transient'));
    const before = await observe(
      (work) =>
        pRetry(work, { retries: 5, minTimeout: 0, shouldRetry: ({ error }) => !(error instanceof Fatal) }),
      fails,
    );
    const after = await observe(
      (work) =>
        retry({ maxAttempts: 6, backoff: 0, retryOn: (error) => !(error instanceof Fatal) }).execute(
          ({ attempt }) => work(attempt),
        ),
      fails,
    );
    expect(after.calls).toEqual(before.calls);
    expect(after.calls).toHaveLength(2);
    expect((after.outcome as { error: Error }).error).toBeInstanceOf(Fatal);
    expect((before.outcome as { error: Error }).error).toBeInstanceOf(Fatal);
  });

  it('AbortError ↔ retryOn: the wrapped error is what both reject with, after one call', async () => {
    const notFound = new Error('404');
    const before = await observe((work) =>
      pRetry(
        async (n) => {
          await work(n).catch(() => undefined);
          throw new AbortError(notFound);
        },
        { retries: 5, minTimeout: 0 },
      ),
    );
    const after = await observe((work) =>
      retry({ maxAttempts: 6, backoff: 0, retryOn: (error) => error !== notFound }).execute(
        async ({ attempt }) => {
          await work(attempt).catch(() => undefined);
          throw notFound;
        },
      ),
    );
    expect(after).toEqual(before);
    expect(after.outcome).toEqual({ error: notFound });
  });

  it('a ResilienceError with retryable: false stops bulwark like AbortError stops p-retry', async () => {
    const stop = new ResilienceError('ERR_QUOTA', 'quota exhausted', { retryable: false });
    const after = await observe(
      (work) => retry({ maxAttempts: 6, backoff: 0 }).execute(({ attempt }) => work(attempt)),
      () => stop,
    );
    expect(after).toEqual({ calls: [0], outcome: { error: stop } });
  });

  it('onFailedAttempt ↔ on("retry") + on("giveUp"): the same attempt numbers, in the same order', async () => {
    const before: string[] = [];
    await observe((work) =>
      pRetry(work, {
        retries: 3,
        minTimeout: 5,
        onFailedAttempt: ({ attemptNumber, retriesLeft }) => {
          before.push(retriesLeft > 0 ? `retry after ${attemptNumber}` : `give up after ${attemptNumber}`);
        },
      }),
    );
    const after: string[] = [];
    const policy = retry({ maxAttempts: 4, backoff: 5 });
    policy.on('retry', ({ attempt }) => after.push(`retry after ${attempt}`));
    policy.on('giveUp', ({ attempts }) => after.push(`give up after ${attempts}`));
    await observe((work) => policy.execute(({ attempt }) => work(attempt)));
    expect(after).toEqual(before);
    expect(after).toHaveLength(4);
  });

  it('signal ↔ execute(fn, { signal }): an abort during a backoff wait rejects at once with its reason', async () => {
    const results: { calls: number; at: number; error: unknown }[] = [];
    for (const lib of ['p-retry', 'bulwark'] as const) {
      const controller = new AbortController();
      const start = Date.now();
      let calls = 0;
      const work = async () => {
        calls++;
        throw new Error('down');
      };
      const call =
        lib === 'p-retry'
          ? pRetry(work, { retries: 5, minTimeout: 10_000, signal: controller.signal })
          : retry({ maxAttempts: 6, backoff: 10_000 }).execute(work, { signal: controller.signal });
      const settled = call.catch((error: unknown) => ({ error, at: Date.now() - start }));
      await vi.advanceTimersByTimeAsync(3_000);
      const reason = new Error('user cancelled');
      controller.abort(reason);
      const { error, at } = (await settled) as { error: unknown; at: number };
      results.push({ calls, at, error: error === reason ? 'the reason' : error });
    }
    expect(results[1]).toEqual(results[0]);
    expect(results[0]).toEqual({ calls: 1, at: 3_000, error: 'the reason' });
  });

  it('makeRetriable ↔ wrap: the wrapped function keeps its arguments and is called again with them', async () => {
    const { makeRetriable } = await import('p-retry');
    const results: { value: number; seen: number[][] }[] = [];
    for (const lib of ['p-retry', 'bulwark'] as const) {
      const seen: number[][] = [];
      const add = async (a: number, b: number) => {
        seen.push([a, b]);
        if (seen.length === 1) throw new Error('blip');
        return a + b;
      };
      const wrapped =
        lib === 'p-retry'
          ? makeRetriable(add, { retries: 2, minTimeout: 0 })
          : retry({ maxAttempts: 3, backoff: 0 }).wrap(add);
      const call = wrapped(1, 2);
      await vi.runAllTimersAsync();
      results.push({ value: await call, seen });
    }
    expect(results[1]).toEqual(results[0]);
    expect(results[0]).toEqual({
      value: 3,
      seen: [
        [1, 2],
        [1, 2],
      ],
    });
  });
});

describe('p-retry → bulwark: differences the guide states', () => {
  it('maxRetryTime: p-retry shortens the last wait and tries once more; maxDuration gives up instead', async () => {
    const before = await observe((work) =>
      pRetry(work, { retries: 10, minTimeout: 400, factor: 1, maxRetryTime: 1_000 }),
    );
    const after = await observe((work) =>
      retry({ maxAttempts: 11, backoff: 400, maxDuration: 1_000 }).execute(({ attempt }) => work(attempt)),
    );
    expect(before.calls).toEqual([0, 400, 800, 1_000]);
    expect(after.calls).toEqual([0, 400, 800]);
  });

  it('default attempts: p-retry makes up to 11 calls, bulwark 3', async () => {
    const before = await observe((work) => pRetry(work, { minTimeout: 0 }));
    const after = await observe((work) => retry({ backoff: 0 }).execute(({ attempt }) => work(attempt)));
    expect(before.calls).toHaveLength(11);
    expect(after.calls).toHaveLength(3);
  });

  it('a non-network TypeError: p-retry does not retry it, bulwark does unless retryOn says no', async () => {
    const bug = () => new TypeError('x is not a function');
    const before = await observe((work) => pRetry(work, { retries: 3, minTimeout: 0 }), bug);
    const after = await observe(
      (work) => retry({ maxAttempts: 4, backoff: 0 }).execute(({ attempt }) => work(attempt)),
      bug,
    );
    const excluded = await observe(
      (work) =>
        retry({ maxAttempts: 4, backoff: 0, retryOn: (e) => !(e instanceof TypeError) }).execute(
          ({ attempt }) => work(attempt),
        ),
      bug,
    );
    expect(before.calls).toHaveLength(1);
    expect(after.calls).toHaveLength(4);
    expect(excluded.calls).toEqual(before.calls);
  });

  it('a thrown string: p-retry rejects with a TypeError after one call, bulwark retries and rethrows the string', async () => {
    const before = await observe(
      (work) => pRetry(work, { retries: 2, minTimeout: 0 }),
      () => 'plain string',
    );
    const after = await observe(
      (work) => retry({ maxAttempts: 3, backoff: 0 }).execute(({ attempt }) => work(attempt)),
      () => 'plain string',
    );
    expect(before.calls).toHaveLength(1);
    expect((before.outcome as { error: unknown }).error).toBeInstanceOf(TypeError);
    expect(after).toEqual({ calls: [0, 0, 0], outcome: { error: 'plain string' } });
  });

  it('retries: Infinity has no bulwark counterpart: maxAttempts must be finite', () => {
    expect(() => retry({ maxAttempts: Number.POSITIVE_INFINITY })).toThrow(RangeError);
  });
});
