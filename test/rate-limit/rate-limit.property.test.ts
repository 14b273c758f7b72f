import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Clock } from '../../src/core/clock.js';
import { RateLimitedError, type RateLimitOptions, type RateLimitPolicy, rateLimit } from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';

/** A clock for reject mode, where no timer is ever set: time is whatever the test says. */
function manualClock(): Clock & { time: number } {
  return {
    time: 0,
    now() {
      return this.time;
    },
    setTimeout() {
      throw new Error('reject mode must not set a timer');
    },
    clearTimeout() {},
  };
}

interface Arrival {
  gap: number;
  cost: number;
}

interface Admission {
  at: number;
  cost: number;
}

/** Plays arrivals against a fresh reject-mode limiter; returns what it admitted and the last outcome. */
async function play(options: RateLimitOptions, arrivals: readonly Arrival[]) {
  const clock = manualClock();
  const policy = rateLimit({ ...options, clock, cost: (ctx) => ctx.priority });
  const admissions: Admission[] = [];
  const rejections: { at: number; cost: number; retryAfter: number }[] = [];
  for (const { gap, cost } of arrivals) {
    clock.time += gap;
    const outcome = await policy.execute(() => true, { priority: cost }).catch((error: unknown) => error);
    if (outcome === true) admissions.push({ at: clock.time, cost });
    else {
      expect(outcome).toBeInstanceOf(RateLimitedError);
      rejections.push({ at: clock.time, cost, retryAfter: (outcome as RateLimitedError).retryAfter });
    }
  }
  return { clock, policy, admissions, rejections };
}

/** Permits admitted at times in [from, to). */
function admittedBetween(admissions: readonly Admission[], from: number, to: number): number {
  let sum = 0;
  for (const a of admissions) if (a.at >= from && a.at < to) sum += a.cost;
  return sum;
}

/** Checks that no window of `window` ms holds more than `limit` permits. */
function expectWindowBound(admissions: readonly Admission[], limit: number, window: number): void {
  // The busiest window can always be taken to start at an admission.
  for (const a of admissions) {
    expect(admittedBetween(admissions, a.at, a.at + window)).toBeLessThanOrEqual(limit);
  }
}

/** Checks that any span [t_i, t_j] admits at most burst + rate × span / per permits. */
function expectBucketBound(admissions: readonly Admission[], rate: number, per: number, burst: number): void {
  for (let i = 0; i < admissions.length; i++) {
    let sum = 0;
    for (let j = i; j < admissions.length; j++) {
      sum += admissions[j]!.cost;
      const span = admissions[j]!.at - admissions[i]!.at;
      expect(sum).toBeLessThanOrEqual(burst + (rate * span) / per + 1e-9);
    }
  }
}

const slidingOptions = fc.record({
  limit: fc.integer({ min: 1, max: 6 }),
  window: fc.integer({ min: 1, max: 400 }),
});

const bucketOptions = fc.record({
  rate: fc.integer({ min: 1, max: 5 }),
  per: fc.constantFrom(1, 7, 100, 1000),
  burst: fc.integer({ min: 1, max: 8 }),
});

const arrivalsUpTo = (maxCost: number) =>
  fc.array(fc.record({ gap: fc.nat(300), cost: fc.integer({ min: 1, max: maxCost }) }), { maxLength: 60 });

describe('rateLimit properties', () => {
  it('slidingWindow: admitted permits in any window never exceed the limit', async () => {
    await fc.assert(
      fc.asyncProperty(
        slidingOptions.chain((o) => fc.tuple(fc.constant(o), arrivalsUpTo(o.limit))),
        async ([{ limit, window }, arrivals]) => {
          const { admissions } = await play({ type: 'slidingWindow', limit, window }, arrivals);
          expectWindowBound(admissions, limit, window);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('slidingWindow is exact: it rejects only when the window really is full', async () => {
    await fc.assert(
      fc.asyncProperty(
        slidingOptions.chain((o) => fc.tuple(fc.constant(o), arrivalsUpTo(o.limit))),
        async ([{ limit, window }, arrivals]) => {
          const { admissions, rejections } = await play({ type: 'slidingWindow', limit, window }, arrivals);
          for (const r of rejections) {
            const before = admissions.filter((a) => a.at <= r.at);
            expect(admittedBetween(before, r.at - window + 1, r.at + 1) + r.cost).toBeGreaterThan(limit);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('tokenBucket: never admits more than burst + rate × elapsed / per', async () => {
    await fc.assert(
      fc.asyncProperty(
        bucketOptions.chain((o) => fc.tuple(fc.constant(o), arrivalsUpTo(o.burst))),
        async ([{ rate, per, burst }, arrivals]) => {
          const { admissions } = await play({ type: 'tokenBucket', rate, per, burst }, arrivals);
          expectBucketBound(admissions, rate, per, burst);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('retryAfter is exact: a call retryAfter ms later is admitted, one 1 ms earlier is not', async () => {
    const optionsArb = fc.oneof(
      slidingOptions.map((o) => ({ type: 'slidingWindow' as const, ...o, capacity: o.limit })),
      bucketOptions.map((o) => ({ type: 'tokenBucket' as const, ...o, capacity: o.burst })),
    );
    await fc.assert(
      fc.asyncProperty(
        optionsArb.chain((o) =>
          fc.tuple(fc.constant(o), arrivalsUpTo(o.capacity), fc.integer({ min: 1, max: o.capacity })),
        ),
        async ([{ capacity: _, ...options }, arrivals, probeCost]) => {
          const { clock, policy } = await play(options, arrivals);
          const probe = await policy
            .execute(() => true, { priority: probeCost })
            .catch((error: unknown) => error);
          if (probe === true) return;
          const { retryAfter } = probe as RateLimitedError;
          expect(retryAfter).toBeGreaterThanOrEqual(1);
          // Replay the same history on twins, then probe at the promised time and just before it.
          const onTime = await play(options, arrivals);
          onTime.clock.time = clock.time + retryAfter;
          await expect(onTime.policy.execute(() => true, { priority: probeCost })).resolves.toBe(true);
          const early = await play(options, arrivals);
          early.clock.time = clock.time + retryAfter - 1;
          await expect(early.policy.execute(() => true, { priority: probeCost })).rejects.toBeInstanceOf(
            RateLimitedError,
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it('wait mode: calls start in arrival order, within the limit, and every call settles once', async () => {
    const optionsArb = fc.oneof(
      slidingOptions.map((o) => ({ type: 'slidingWindow' as const, ...o })),
      bucketOptions.map((o) => ({ type: 'tokenBucket' as const, ...o })),
    );
    const arrivalArb = fc.record({
      gap: fc.nat(200),
      // Some callers give up after a while.
      abortAfter: fc.option(fc.nat(500), { nil: undefined }),
    });
    await fc.assert(
      fc.asyncProperty(optionsArb, fc.array(arrivalArb, { maxLength: 30 }), async (options, arrivals) => {
        const clock = new VirtualClock({ settleRounds: 12 });
        const policy: RateLimitPolicy = rateLimit({ ...options, mode: 'wait', clock });
        const starts: { id: number; at: number }[] = [];
        const settled: number[] = arrivals.map(() => 0);
        const aborted: boolean[] = arrivals.map(() => false);
        for (const [id, { gap, abortAfter }] of arrivals.entries()) {
          await clock.advance(gap);
          const controller = abortAfter === undefined ? undefined : new AbortController();
          if (controller !== undefined) {
            clock.setTimeout(() => {
              aborted[id] = true;
              controller.abort();
            }, abortAfter!);
          }
          policy
            .execute(
              () => {
                starts.push({ id, at: clock.now() });
              },
              { signal: controller?.signal },
            )
            .then(
              () => settled[id]!++,
              () => settled[id]!++,
            );
        }
        await clock.runAll();
        await clock.settle();
        expect(settled.every((n) => n === 1)).toBe(true);
        // FIFO: start order is arrival order.
        expect(starts.map((s) => s.id)).toEqual(starts.map((s) => s.id).sort((a, b) => a - b));
        // Nobody is lost: every call that was never aborted ran.
        for (const [id] of arrivals.entries()) {
          if (!aborted[id]) expect(starts.some((s) => s.id === id)).toBe(true);
        }
        const admissions = starts.map((s) => ({ at: s.at, cost: 1 }));
        if (options.type === 'slidingWindow') expectWindowBound(admissions, options.limit, options.window);
        else expectBucketBound(admissions, options.rate, options.per, options.burst);
        expect(policy.stats.waiting).toBe(0);
        expect(clock.pending).toBe(0);
      }),
      { numRuns: 150 },
    );
  });
});
