/**
 * Invariants of the slot and counter holders under randomized interleavings:
 * fast-check's scheduler decides in which order calls start, works settle,
 * callers abort and (virtual) time moves, and shrinks a failing order to the
 * smallest one.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BulkheadFullError,
  bulkhead,
  CircuitOpenError,
  type CircuitState,
  circuitBreaker,
  hedge,
  RateLimitedError,
  rateLimit,
  retry,
  retryBudget,
} from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';

/**
 * Lets the scheduler release tasks, firing the virtual clock's timers and
 * letting the event loop turn between rounds, until `done()`.
 */
async function settleAll(s: fc.Scheduler, done: () => boolean, clock?: VirtualClock): Promise<void> {
  for (let round = 0; round < 1_000; round++) {
    await s.waitIdle();
    if (done() && s.count() === 0) return;
    if (clock !== undefined && clock.pending > 0) await clock.runAll();
    else await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error('did not settle in 1000 rounds');
}

describe('bulkhead under random interleavings', () => {
  it('never runs more than limit, starts queued calls in FIFO order, and loses no call', async () => {
    const seen = { queued: 0, full: 0, aborted: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.integer({ min: 1, max: 3 }),
        fc.constantFrom(0, 1, 2, 5, Number.POSITIVE_INFINITY),
        fc.array(fc.record({ fails: fc.boolean(), aborts: fc.boolean() }), { minLength: 1, maxLength: 10 }),
        async (s, limit, queue, calls) => {
          const policy = bulkhead({ limit, queue });
          let running = 0;
          let most = 0;
          const started: number[] = [];
          const queuedOrder: number[] = [];
          const outcomes: string[] = new Array(calls.length).fill('pending');

          calls.forEach((call, id) => {
            const controller = new AbortController();
            void s.schedule(Promise.resolve(), `start ${id}`).then(() => {
              const queuedBefore = policy.stats.queued;
              const promise = policy.execute(
                async () => {
                  running++;
                  most = Math.max(most, running);
                  started.push(id);
                  try {
                    await s.schedule(Promise.resolve(), `work ${id}`);
                    if (call.fails) throw new Error(`work ${id} failed`);
                    return id;
                  } finally {
                    running--;
                  }
                },
                { signal: controller.signal },
              );
              if (policy.stats.queued > queuedBefore) queuedOrder.push(id);
              promise.then(
                () => {
                  outcomes[id] = outcomes[id] === 'pending' ? 'ok' : 'twice';
                },
                (error: unknown) => {
                  const kind =
                    error instanceof BulkheadFullError
                      ? 'full'
                      : error === controller.signal.reason
                        ? 'aborted'
                        : 'failed';
                  outcomes[id] = outcomes[id] === 'pending' ? kind : 'twice';
                },
              );
              if (call.aborts) {
                void s
                  .schedule(Promise.resolve(), `abort ${id}`)
                  .then(() => controller.abort(new Error('gone')));
              }
            });
          });
          await settleAll(s, () => !outcomes.includes('pending'));

          expect(most).toBeLessThanOrEqual(limit);
          expect(outcomes).not.toContain('pending');
          expect(outcomes).not.toContain('twice');
          // FIFO: queued calls that got a slot got it in the order they queued.
          const queuedStarts = started.filter((id) => queuedOrder.includes(id));
          const expectedOrder = queuedOrder.filter((id) => queuedStarts.includes(id));
          expect(queuedStarts).toEqual(expectedOrder);
          // Nothing lost: every call ran, was refused, or was abandoned by its caller.
          for (const [id, outcome] of outcomes.entries()) {
            if (outcome === 'ok' || outcome === 'failed') expect(started).toContain(id);
            if (outcome === 'full') expect(started).not.toContain(id);
          }
          // A queued call whose caller did not abort was never dropped.
          for (const id of queuedOrder) {
            if (!calls[id]!.aborts) expect(started).toContain(id);
          }
          expect(new Set(started).size).toBe(started.length);
          expect(policy.stats).toMatchObject({ running: 0, queued: 0 });
          seen.queued += queuedOrder.length;
          seen.full += outcomes.filter((o) => o === 'full').length;
          seen.aborted += outcomes.filter((o) => o === 'aborted').length;
        },
      ),
      { numRuns: 300 },
    );
    // The interleavings did reach the queue, the rejections and the aborts.
    expect(seen.queued).toBeGreaterThan(0);
    expect(seen.full).toBeGreaterThan(0);
    expect(seen.aborted).toBeGreaterThan(0);
  });
});

describe('rate limiter under random interleavings', () => {
  const shapes = fc.oneof(
    fc.record({
      type: fc.constant('slidingWindow' as const),
      limit: fc.integer({ min: 1, max: 4 }),
      window: fc.constantFrom(5, 10, 50),
    }),
    fc.record({
      type: fc.constant('tokenBucket' as const),
      rate: fc.integer({ min: 1, max: 3 }),
      per: fc.constantFrom(5, 10),
      burst: fc.integer({ min: 1, max: 4 }),
    }),
  );

  it('never admits more than its limit over any span, in reject and wait modes alike', async () => {
    const seen = { waited: 0, rejected: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        shapes,
        fc.constantFrom('reject', 'wait') as fc.Arbitrary<'reject' | 'wait'>,
        fc.array(fc.record({ advance: fc.integer({ min: 0, max: 12 }), aborts: fc.boolean() }), {
          minLength: 1,
          maxLength: 12,
        }),
        async (s, shape, mode, calls) => {
          const clock = new VirtualClock();
          const policy = rateLimit({ ...shape, mode, clock });
          policy.on('wait', () => seen.waited++);
          policy.on('reject', () => seen.rejected++);
          const admitted: number[] = [];
          let settled = 0;
          calls.forEach((call, id) => {
            const controller = new AbortController();
            void s.schedule(Promise.resolve(), `start ${id}`).then(async () => {
              await clock.advance(call.advance);
              policy
                .execute(
                  () => {
                    admitted.push(clock.now());
                    return s.schedule(Promise.resolve(id), `work ${id}`);
                  },
                  { signal: controller.signal },
                )
                .then(
                  () => settled++,
                  (error: unknown) => {
                    expect(error instanceof RateLimitedError || error === controller.signal.reason).toBe(
                      true,
                    );
                    settled++;
                  },
                );
              if (call.aborts) {
                void s
                  .schedule(Promise.resolve(), `abort ${id}`)
                  .then(() => controller.abort(new Error('gone')));
              }
            });
          });
          await settleAll(s, () => settled === calls.length, clock);
          expect(settled).toBe(calls.length);
          expect(policy.stats.waiting).toBe(0);
          const times = [...admitted].sort((a, b) => a - b);
          if (shape.type === 'slidingWindow') {
            // Any `limit + 1` admissions span at least a whole window.
            for (let i = shape.limit; i < times.length; i++) {
              expect(times[i]! - times[i - shape.limit]!).toBeGreaterThanOrEqual(shape.window);
            }
          } else {
            // Over any span [a, b]: at most burst + rate × (b − a) / per admissions.
            for (let i = 0; i < times.length; i++) {
              for (let j = i; j < times.length; j++) {
                const count = j - i + 1;
                const allowed = shape.burst + (shape.rate * (times[j]! - times[i]!)) / shape.per;
                expect(count).toBeLessThanOrEqual(allowed + 1e-9);
              }
            }
          }
        },
      ),
      { numRuns: 300 },
    );
    expect(seen.waited).toBeGreaterThan(0);
    expect(seen.rejected).toBeGreaterThan(0);
  });
});

describe('circuit breaker under random interleavings', () => {
  it('admits at most halfOpenCalls probes per half-open period, and only current-period calls move its state', async () => {
    const seen = { closedByProbes: 0, reopened: 0, lateSettles: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        fc.array(fc.record({ fails: fc.boolean(), advance: fc.integer({ min: 0, max: 15 }) }), {
          minLength: 1,
          maxLength: 14,
        }),
        async (s, threshold, halfOpenCalls, calls) => {
          const clock = new VirtualClock();
          const breaker = circuitBreaker({
            consecutiveFailures: threshold,
            halfOpenCalls,
            openFor: 10,
            clock,
          });
          /** Periods: each state change starts a new one. */
          let period = 0;
          let state: CircuitState = 'closed';
          const startedIn: number[] = [];
          /** Per period: works that finished with success / failure (before the breaker even saw them). */
          const succeeded = new Map<number, number>();
          const failed = new Map<number, number>();
          const probesStarted = new Map<number, number>();
          const problems: string[] = [];
          breaker.on('stateChange', ({ from, to }) => {
            const ok = succeeded.get(period) ?? 0;
            const bad = failed.get(period) ?? 0;
            if (from === 'halfOpen' && to === 'closed' && ok < halfOpenCalls) {
              problems.push(
                `closed after ${ok} successful probes of this period (halfOpenCalls ${halfOpenCalls})`,
              );
            }
            if (from === 'halfOpen' && to === 'open' && bad < 1) {
              problems.push('reopened without a failed probe of this period');
            }
            if (from === 'closed' && to === 'open' && bad < threshold) {
              problems.push(`opened after ${bad} failures of this period (threshold ${threshold})`);
            }
            if (from === 'halfOpen') {
              if (to === 'closed') seen.closedByProbes++;
              else seen.reopened++;
            }
            period++;
            state = to;
          });
          let settled = 0;
          calls.forEach((call, id) => {
            void s.schedule(Promise.resolve(), `start ${id}`).then(async () => {
              await clock.advance(call.advance);
              breaker
                .execute(() => {
                  // The breaker admitted this call: it belongs to the period it starts in.
                  const mine = period;
                  startedIn[id] = mine;
                  if (state === 'halfOpen') probesStarted.set(mine, (probesStarted.get(mine) ?? 0) + 1);
                  return s.schedule(Promise.resolve(), `work ${id}`).then(() => {
                    if (mine !== period) seen.lateSettles++;
                    const tally = call.fails ? failed : succeeded;
                    tally.set(mine, (tally.get(mine) ?? 0) + 1);
                    if (call.fails) throw new Error(`work ${id} failed`);
                    return id;
                  });
                })
                .then(
                  () => settled++,
                  (error: unknown) => {
                    if (
                      !(error instanceof CircuitOpenError) &&
                      !(error as Error).message.startsWith('work')
                    ) {
                      problems.push(`unexpected ${String(error)}`);
                    }
                    settled++;
                  },
                );
            });
          });
          await settleAll(s, () => settled === calls.length, clock);
          expect(problems).toEqual([]);
          expect(settled).toBe(calls.length);
          for (const [p, n] of probesStarted)
            expect(n, `probes in period ${p}`).toBeLessThanOrEqual(halfOpenCalls);
          expect(breaker.stats.probes).toBeLessThanOrEqual(halfOpenCalls);
        },
      ),
      { numRuns: 300 },
    );
    // Probes closed and reopened the breaker, and calls did settle in a later period than they started in.
    expect(seen.closedByProbes).toBeGreaterThan(0);
    expect(seen.reopened).toBeGreaterThan(0);
    expect(seen.lateSettles).toBeGreaterThan(0);
  });
});

describe('retry budget under random interleavings', () => {
  it('retries and hedges sharing one budget stay within ratio × first attempts + floor over every window', async () => {
    const seen = { extras: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.constantFrom(0, 0.1, 0.5, 1),
        fc.constantFrom(0, 10, 100),
        fc.array(
          fc.record({
            via: fc.constantFrom('retry', 'hedge') as fc.Arbitrary<'retry' | 'hedge'>,
            failures: fc.integer({ min: 0, max: 3 }),
            advance: fc.integer({ min: 0, max: 40 }),
          }),
          { minLength: 1, maxLength: 12 },
        ),
        async (s, ratio, minPerSecond, calls) => {
          const clock = new VirtualClock();
          const window = 100;
          const budget = retryBudget({ ratio, minPerSecond, window, clock });
          const floor = (minPerSecond * window) / 1000;
          budget.on('exhausted', () => seen.refused++);
          const retrying = retry({ maxAttempts: 4, backoff: 1, budget, clock });
          const hedging = hedge({ delay: 2, maxHedged: 3, budget, clock });
          const firsts: number[] = [];
          const extras: number[] = [];
          retrying.on('retry', () => extras.push(clock.now()));
          hedging.on('hedge', () => extras.push(clock.now()));
          let settled = 0;
          calls.forEach((call, id) => {
            void s.schedule(Promise.resolve(), `start ${id}`).then(async () => {
              await clock.advance(call.advance);
              const policy = call.via === 'retry' ? retrying : hedging;
              let attempts = 0;
              policy
                .execute((ctx) => {
                  attempts++;
                  if (ctx.attempt === 1 && attempts === 1) firsts.push(clock.now());
                  return s.schedule(Promise.resolve(), `attempt ${id}.${attempts}`).then(() => {
                    if (attempts <= call.failures) throw new Error('failed');
                    return id;
                  });
                })
                .then(
                  () => settled++,
                  () => settled++,
                );
            });
          });
          await settleAll(s, () => settled === calls.length, clock);
          expect(settled).toBe(calls.length);
          for (const t of extras) {
            const inWindow = (times: number[]) => times.filter((x) => x > t - window && x <= t).length;
            expect(inWindow(extras)).toBeLessThanOrEqual(ratio * inWindow(firsts) + floor + 1e-9);
          }
          seen.extras += extras.length;
        },
      ),
      { numRuns: 300 },
    );
    expect(seen.extras).toBeGreaterThan(0);
    expect(seen.refused).toBeGreaterThan(0);
  });
});
