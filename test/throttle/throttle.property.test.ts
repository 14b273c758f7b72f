import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ThrottledError, throttle } from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';
import { mulberry32 } from '../../benchmarks/lib/random.js';

/** The SRE formula, with the priority scaling of k, computed independently of the policy. */
function expected(requests: number, accepts: number, k: number, priority: number): number {
  if (requests === 0) return 0;
  if (accepts === 0) return requests / (requests + 1);
  const kp = 1 + (k - 1) * 2 ** priority;
  return Math.max(0, (requests - kp * accepts) / (requests + 1));
}

describe('throttle rejection rate', () => {
  it('follows max(0, (requests − k·accepts) / (requests + 1)) call by call, and in frequency', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          k: fc.constantFrom(1, 1.5, 2, 3),
          acceptRate: fc.double({ min: 0, max: 1, noNaN: true }),
          priority: fc.constantFrom(-1, 0, 1),
          seed: fc.integer(),
        }),
        async ({ k, acceptRate, priority, seed }) => {
          const clock = new VirtualClock();
          const policyRandom = mulberry32(seed);
          const backend = mulberry32(seed ^ 0x5bd1e995);
          const t = throttle({ k, random: policyRandom, clock });
          let requests = 0;
          let accepts = 0;
          let shed = 0;
          let expectedShed = 0;
          let variance = 0;
          const trials = 1_200;
          for (let i = 0; i < trials; i++) {
            const p = expected(requests, accepts, k, priority);
            expect(t.probability(priority)).toBeCloseTo(p, 10);
            expectedShed += p;
            variance += p * (1 - p);
            requests += 1;
            const accepted = backend() < acceptRate;
            try {
              await t.execute(
                () => {
                  if (!accepted) throw new Error('refused');
                  return 'ok';
                },
                { priority },
              );
              accepts += 1;
            } catch (error) {
              if (error instanceof ThrottledError) shed += 1;
              else expect((error as Error).message).toBe('refused');
            }
          }
          expect(t.stats).toMatchObject({ requests, accepts, rejected: shed });
          // Shed calls are Bernoulli draws with the formula's probability: within 5 σ of the sum.
          expect(Math.abs(shed - expectedShed)).toBeLessThanOrEqual(5 * Math.sqrt(variance) + 1);
        },
      ),
      { numRuns: 30 },
    );
  });

  it('at a fixed state, the shed fraction over many seeded trials matches the formula', async () => {
    const draws = mulberry32(7);
    for (const [requests, accepts, k] of [
      [20, 4, 2],
      [20, 8, 2],
      [10, 2, 1.5],
    ] as const) {
      const p = (requests - k * accepts) / (requests + 1);
      const trials = 2_000;
      let shed = 0;
      for (let trial = 0; trial < trials; trial++) {
        // A fresh policy brought to the same counts without shedding, then one call at probability p.
        let setup = true;
        const t = throttle({ k, random: () => (setup ? 0.999_999_9 : draws()) });
        for (let i = 0; i < accepts; i++) await t.execute(() => 'ok');
        for (let i = accepts; i < requests; i++)
          await t.execute(() => Promise.reject(new Error('no'))).catch(() => {});
        setup = false;
        if (trial === 0) expect(t.probability()).toBeCloseTo(p, 12);
        const outcome = await t
          .execute(() => 'ok')
          .then(
            () => 'passed',
            (error: unknown) => (error instanceof ThrottledError ? 'shed' : 'other'),
          );
        if (outcome === 'shed') shed += 1;
      }
      // Binomial(trials, p): within 4 standard deviations.
      expect(Math.abs(shed / trials - p)).toBeLessThanOrEqual(4 * Math.sqrt((p * (1 - p)) / trials));
    }
  });
});
