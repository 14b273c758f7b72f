import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeOutcomes, encodeOutcomes } from '../../src/breaker/snapshot.js';
import { bucketIndex, newRing, readSlot, writeSlot } from '../../src/breaker/window.js';
import { circuitBreaker } from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';
import { run } from './helpers.js';

describe('breaker window storage', () => {
  it('a ring packs 15 outcomes per number, each a small integer', () => {
    expect(newRing(100)).toHaveLength(7);
    expect(newRing(15)).toHaveLength(1);
    expect(newRing(16)).toHaveLength(2);
    const ring = newRing(45);
    for (let pos = 0; pos < 45; pos++) writeSlot(ring, pos, 3);
    for (const word of ring) expect(word).toBe(2 ** 30 - 1);
  });

  it('property: every slot reads back what was last written to it, neighbours untouched', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 70 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 3 })), { maxLength: 200 }),
        (size, writes) => {
          const ring = newRing(size);
          const expected = new Array<number>(size).fill(0);
          for (const [at, code] of writes) {
            writeSlot(ring, at % size, code);
            expected[at % size] = code;
          }
          for (let pos = 0; pos < size; pos++) expect(readSlot(ring, pos)).toBe(expected[pos]);
        },
      ),
    );
  });

  it('an unallocated ring reads as all successes', () => {
    expect(readSlot(undefined, 12)).toBe(0);
  });

  it('bucket indexes wrap for negative bucket numbers too', () => {
    expect([bucketIndex(0, 4), bucketIndex(5, 4), bucketIndex(-1, 4), bucketIndex(-4, 4)]).toEqual([
      0, 3, 9, 0,
    ]);
  });

  it('property: decoding then encoding outcome digits keeps the newest `size` of them', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.array(fc.constantFrom('0', '1', '2', '3'), { maxLength: 90 }).map((a) => a.join('')),
        (size, outcomes) => {
          const d = decodeOutcomes(outcomes, size, true);
          const kept = outcomes.slice(-size);
          expect(encodeOutcomes(d.ring, d.head, d.calls, size)).toBe(kept);
          expect(d.failures).toBe([...kept].filter((c) => c === '1' || c === '3').length);
          expect(d.slow).toBe([...kept].filter((c) => c === '2' || c === '3').length);
        },
      ),
    );
  });

  it('property: a count window holds exactly the newest `size` outcomes, in order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 40 }),
        fc.array(fc.constantFrom('s', 'f'), { maxLength: 100 }).map((a) => a.join('')),
        async (size, pattern) => {
          // failureRate 1 opens only on a window of nothing but failures: leave those out.
          fc.pre(!pattern.includes('f'.repeat(size)));
          const breaker = circuitBreaker({
            failureRate: 1,
            minimumCalls: size,
            window: { type: 'count', size },
            clock: new VirtualClock(),
          });
          await run(breaker, pattern);
          const kept = pattern.slice(-size);
          expect(breaker.snapshot().window).toEqual({
            type: 'count',
            size,
            outcomes: kept.replaceAll('s', '0').replaceAll('f', '1'),
          });
          expect(breaker.stats.failures).toBe([...kept].filter((c) => c === 'f').length);
        },
      ),
      { numRuns: 150 },
    );
  });
});
