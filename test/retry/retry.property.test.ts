import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { retry } from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';

describe('retry properties', () => {
  it('a retry makes exactly min(maxAttempts, index of first success) calls', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 0, max: 1_000 }),
        async (maxAttempts, firstSuccess, delay) => {
          const clock = new VirtualClock();
          let calls = 0;
          const call = retry({ maxAttempts, backoff: delay, clock }).execute((ctx) => {
            calls++;
            expect(ctx.attempt).toBe(calls);
            if (calls < firstSuccess) throw new Error(`fail ${calls}`);
            return `ok ${calls}`;
          });
          const outcome = call.then(
            (value) => ({ value }),
            (error: Error) => ({ error: error.message }),
          );
          await clock.runAll();
          const expected = Math.min(maxAttempts, firstSuccess);
          expect(calls).toBe(expected);
          expect(await outcome).toEqual(
            firstSuccess <= maxAttempts ? { value: `ok ${firstSuccess}` } : { error: `fail ${maxAttempts}` },
          );
          expect(clock.now()).toBe((expected - 1) * delay);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('with retryOnResult, the same count holds and the last result is returned when exhausted', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 12 }),
        async (maxAttempts, firstGood) => {
          const clock = new VirtualClock();
          let calls = 0;
          const call = retry({
            maxAttempts,
            backoff: 1,
            clock,
            retryOnResult: (r) => (r as number) < firstGood,
          }).execute(() => ++calls);
          await clock.runAll();
          expect(await call).toBe(Math.min(maxAttempts, firstGood));
          expect(calls).toBe(Math.min(maxAttempts, firstGood));
        },
      ),
      { numRuns: 200 },
    );
  });
});
