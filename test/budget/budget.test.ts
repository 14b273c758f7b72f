import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RETRY_BUDGET_OPTIONS, retry, retryBudget } from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';
import { manualClock } from '../helpers/clocks.js';

function takeAll(budget: { tryRetry(): boolean }, max = 10_000): number {
  let taken = 0;
  while (taken < max && budget.tryRetry()) taken++;
  return taken;
}

describe('retryBudget', () => {
  it('defaults to Finagle: 20 % of first attempts plus 10 retries per second over 10 s', () => {
    const budget = retryBudget({ clock: manualClock() });
    expect(budget.ratio).toBe(0.2);
    expect(budget.minPerSecond).toBe(10);
    expect(budget.window).toBe(10_000);
    expect(budget.floor).toBe(100);
    expect(budget.name).toBe('retryBudget');
    expect(budget.kind).toBe('retryBudget');
  });

  it('ratio 0 means the floor alone: minPerSecond × window / 1000 retries, then none', () => {
    const clock = manualClock();
    const budget = retryBudget({ ratio: 0, minPerSecond: 2, window: 5_000, clock });
    for (let i = 0; i < 1000; i++) budget.recordAttempt();
    expect(takeAll(budget)).toBe(10);
  });

  it('allows ratio × first attempts retries on top of the floor', () => {
    const clock = manualClock();
    const budget = retryBudget({ ratio: 0.2, minPerSecond: 0.3, window: 10_000, clock });
    for (let i = 0; i < 100; i++) budget.recordAttempt();
    // 0.2 × 100 + 0.3 × 10 = 23 (Envoy-like: 20 % with a minimum of 3).
    expect(takeAll(budget)).toBe(23);
  });

  it('refuses every retry when ratio and floor are both 0', () => {
    const budget = retryBudget({ ratio: 0, minPerSecond: 0, clock: manualClock() });
    budget.recordAttempt();
    expect(budget.tryRetry()).toBe(false);
  });

  it('accepts ratios above 1 (several retries per first attempt)', () => {
    const budget = retryBudget({ ratio: 2, minPerSecond: 0, clock: manualClock() });
    for (let i = 0; i < 5; i++) budget.recordAttempt();
    expect(takeAll(budget)).toBe(10);
  });

  it('slides: retries taken expire after the window and the budget refills', () => {
    const clock = manualClock();
    const budget = retryBudget({ ratio: 0, minPerSecond: 1, window: 10_000, clock });
    expect(takeAll(budget)).toBe(10);
    clock.time = 5_000;
    expect(budget.tryRetry()).toBe(false);
    // One bucket (1 s) beyond the window every retry taken at t=0 has expired.
    clock.time = 11_000;
    expect(takeAll(budget)).toBe(10);
  });

  it('slides: first attempts expire after the window, taking their allowance with them', () => {
    const clock = manualClock();
    const budget = retryBudget({ ratio: 0.5, minPerSecond: 0, window: 10_000, clock });
    for (let i = 0; i < 10; i++) budget.recordAttempt();
    expect(budget.stats).toEqual({ attempts: 10, retries: 0, available: 5 });
    clock.time = 10_000;
    expect(budget.stats).toEqual({ attempts: 0, retries: 0, available: 0 });
    expect(budget.tryRetry()).toBe(false);
  });

  it('counts a retry in the partly expired oldest bucket while it is still within the window', () => {
    const clock = manualClock();
    const budget = retryBudget({ ratio: 0, minPerSecond: 0.1, window: 10_000, clock });
    clock.time = 500;
    expect(budget.tryRetry()).toBe(true);
    // [0, 10 000] still holds the retry taken at 500: a second one would make 2 > floor 1.
    clock.time = 10_000;
    expect(budget.tryRetry()).toBe(false);
    clock.time = 10_999;
    expect(budget.tryRetry()).toBe(false);
    clock.time = 11_000;
    expect(budget.tryRetry()).toBe(true);
  });

  it('computes the window on demand after a long idle gap (no timer)', () => {
    const clock = manualClock();
    const budget = retryBudget({ ratio: 1, minPerSecond: 0, window: 1_000, clock });
    for (let i = 0; i < 3; i++) budget.recordAttempt();
    expect(budget.tryRetry()).toBe(true);
    clock.time = 1e9;
    expect(budget.stats).toEqual({ attempts: 0, retries: 0, available: 0 });
    budget.recordAttempt();
    expect(budget.stats).toEqual({ attempts: 1, retries: 0, available: 1 });
  });

  it('exposes stats: attempts, retries and available in the window', () => {
    const clock = manualClock();
    const budget = retryBudget({ ratio: 0.2, minPerSecond: 1, window: 10_000, clock });
    for (let i = 0; i < 50; i++) budget.recordAttempt();
    expect(budget.stats).toEqual({ attempts: 50, retries: 0, available: 20 });
    budget.tryRetry();
    budget.tryRetry();
    expect(budget.stats).toEqual({ attempts: 50, retries: 2, available: 18 });
  });

  it('emits exhausted with the counts when it refuses a retry', () => {
    const budget = retryBudget({ ratio: 0.5, minPerSecond: 0, clock: manualClock() });
    const events: unknown[] = [];
    budget.on('exhausted', (e) => events.push(e));
    budget.recordAttempt();
    budget.recordAttempt();
    expect(budget.tryRetry()).toBe(true);
    expect(events).toEqual([]);
    expect(budget.tryRetry()).toBe(false);
    expect(events).toEqual([{ attempts: 2, retries: 1, limit: 1 }]);
  });

  it('survives a clock that jumps back: counts go to the newest bucket', () => {
    const clock = manualClock(50_000);
    const budget = retryBudget({ ratio: 1, minPerSecond: 0, window: 10_000, clock });
    budget.recordAttempt();
    clock.time = 20_000;
    budget.recordAttempt();
    expect(budget.stats.attempts).toBe(2);
    expect(budget.tryRetry()).toBe(true);
  });

  it('works with negative clock readings', () => {
    const clock = manualClock(-25_500);
    const budget = retryBudget({ ratio: 1, minPerSecond: 0, window: 10_000, clock });
    budget.recordAttempt();
    clock.time = -20_000;
    budget.recordAttempt();
    expect(budget.stats.attempts).toBe(2);
    clock.time = -14_000;
    expect(budget.stats.attempts).toBe(1);
  });

  it('tracks a steady load closely: about ratio × attempts retries per window', () => {
    const clock = manualClock();
    const budget = retryBudget({ ratio: 0.2, minPerSecond: 0, window: 10_000, clock });
    let granted = 0;
    // 100 first attempts per second for 60 s; every call wants a retry.
    for (let ms = 0; ms < 60_000; ms += 10) {
      clock.time = ms;
      budget.recordAttempt();
      if (budget.tryRetry()) granted++;
    }
    // At most 20 % of 6000; conservative edges cost a little, not much.
    expect(granted).toBeLessThanOrEqual(1200);
    expect(granted).toBeGreaterThan(1000);
  });

  it('is shareable: retries of several policies draw from one budget', async () => {
    const clock = new VirtualClock();
    const budget = retryBudget({ ratio: 0, minPerSecond: 0.3, window: 10_000, clock });
    const a = retry({ maxAttempts: 5, backoff: 0, budget, clock });
    const b = retry({ maxAttempts: 5, backoff: 0, budget, clock });
    let calls = 0;
    const failing = () => {
      calls++;
      return Promise.reject(new Error('down'));
    };
    const first = a.execute(failing);
    const second = b.execute(failing);
    first.catch(() => {});
    second.catch(() => {});
    await clock.runAll();
    await expect(first).rejects.toThrow('down');
    await expect(second).rejects.toThrow('down');
    // 3 retries in all (the floor), not 4 per policy: 2 first attempts + 3 retries.
    expect(calls).toBe(5);
    expect(budget.stats).toEqual({ attempts: 2, retries: 3, available: 0 });
  });

  it('over budget, retry fails with its last error at once, without waiting (giveUp reason budget)', async () => {
    const clock = new VirtualClock();
    const budget = retryBudget({ ratio: 0, minPerSecond: 0.1, window: 10_000, clock });
    const policy = retry({ maxAttempts: 10, backoff: 5_000, budget, clock });
    const giveUps: unknown[] = [];
    policy.on('giveUp', (e) => giveUps.push({ reason: e.reason, attempts: e.attempts }));
    let calls = 0;
    const result = policy.execute(() => Promise.reject(new Error(`failure ${++calls}`)));
    result.catch(() => {});
    // One retry (floor 0.1/s × 10 s = 1) after one 5 s backoff, then the budget refuses.
    await clock.advance(5_000);
    await expect(result).rejects.toThrow('failure 2');
    expect(clock.now()).toBe(5_000);
    expect(clock.pending).toBe(0);
    expect(giveUps).toEqual([{ reason: 'budget', attempts: 2 }]);

    // The next call is refused its first retry: it rejects without any time passing.
    const second = policy.execute(() => Promise.reject(new Error('second call')));
    await expect(second).rejects.toThrow('second call');
    expect(clock.now()).toBe(5_000);
    expect(clock.pending).toBe(0);
    expect(giveUps).toHaveLength(2);
  });

  it('property: in the window ending at any granted retry, retries ≤ ratio × first attempts + floor', () => {
    fc.assert(
      fc.property(
        // Small ratios and floors keep the budget near its limit, where a bug would show.
        fc.oneof(
          fc.constant(0),
          fc.double({ min: 0, max: 0.5, noNaN: true }),
          fc.double({ min: 0, max: 3, noNaN: true }),
        ),
        fc.oneof(
          fc.constant(0),
          fc.double({ min: 0, max: 1, noNaN: true }),
          fc.double({ min: 0, max: 5, noNaN: true }),
        ),
        fc.integer({ min: 10, max: 5_000 }),
        fc.array(
          fc.record({
            dt: fc.oneof(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 2_000 })),
            op: fc.constantFrom('attempt', 'retry', 'retry'),
          }),
          { minLength: 100, maxLength: 400 },
        ),
        (ratio, minPerSecond, window, ops) => {
          const clock = manualClock();
          const budget = retryBudget({ ratio, minPerSecond, window, clock });
          const floor = (minPerSecond * window) / 1000;
          const attempts: number[] = [];
          const retries: number[] = [];
          for (const { dt, op } of ops) {
            clock.time += dt;
            const t = clock.time;
            if (op === 'attempt') {
              budget.recordAttempt();
              attempts.push(t);
            } else if (budget.tryRetry()) {
              retries.push(t);
              // Closed window [t - window, t] for retries, the strictest reading.
              const r = retries.filter((x) => x >= t - window).length;
              const a = attempts.filter((x) => x > t - window).length;
              expect(r).toBeLessThanOrEqual(ratio * a + floor + 1e-9);
            }
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('validates options at construction', () => {
    expect(RETRY_BUDGET_OPTIONS).toEqual(['ratio', 'minPerSecond', 'window', 'clock', 'name']);
    expect(() => retryBudget({ ratio: -0.1 })).toThrow('retryBudget: ratio must be a number ≥ 0, got -0.1');
    expect(() => retryBudget({ minPerSecond: Number.NaN })).toThrow(/minPerSecond must be a number ≥ 0/);
    expect(() => retryBudget({ window: 0 })).toThrow('retryBudget: window must be a number > 0, got 0');
    expect(() => retryBudget({ ratoi: 0.2 } as never)).toThrow(/unknown option "ratoi"/);
    expect(() => retryBudget({ clock: {} as never })).toThrow(/clock must have now/);
    expect(() => retryBudget({ name: '' })).toThrow(/name must be a non-empty string/);
    expect(() => retryBudget(5 as never)).toThrow(/options must be an object/);
    expect(retryBudget({ name: 'inventory' }).name).toBe('inventory');
  });

  it('is accepted by retry and rejected when it is not a budget', () => {
    expect(() => retry({ budget: {} as never })).toThrow(/budget must be a retryBudget/);
    expect(() => retry({ budget: retryBudget() })).not.toThrow();
  });
});

describe('a budget shared by retry and hedge in one pipeline', () => {
  it('records each call once, not once per policy', async () => {
    const { pipeline, retry, hedge, retryBudget } = await import('../../src/index.js');
    const budget = retryBudget({ ratio: 0.2, minPerSecond: 0 });
    const p = pipeline(retry({ maxAttempts: 2, backoff: 0, budget }), hedge({ delay: 1_000, budget }));
    for (let i = 0; i < 10; i++) await p.execute(() => 'ok');
    expect(budget.stats.attempts).toBe(10);
  });
});
