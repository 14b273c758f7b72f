import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LatencyWindow } from '../../src/hedge/latency.js';

/** Nearest-rank quantile by full sort: the reference the window must match. */
function nearestRank(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

describe('LatencyWindow', () => {
  it('has no quantile before the first sample', () => {
    const window = new LatencyWindow(10, 0.95);
    expect(window.quantile()).toBeUndefined();
    expect(window.count).toBe(0);
  });

  it('keeps only the last `size` samples (bounded memory)', () => {
    const window = new LatencyWindow(4, 0.5);
    for (const ms of [1000, 1000, 1000, 1000, 1, 2, 3, 4]) window.add(ms);
    expect(window.count).toBe(4);
    expect(window.quantile()).toBe(2);
  });

  it('property: once refreshed, the quantile equals the nearest-rank quantile of the samples held', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 64 }),
        fc.double({ min: 0.01, max: 0.999, noNaN: true }),
        fc.array(fc.oneof(fc.integer({ min: 0, max: 5 }), fc.double({ min: 0, max: 1e4, noNaN: true })), {
          minLength: 1,
          maxLength: 300,
        }),
        (size, q, samples) => {
          // A fresh window computes on first read: it sees exactly the last `size` samples.
          const window = new LatencyWindow(size, q);
          for (const ms of samples) window.add(ms);
          expect(window.quantile()).toBe(nearestRank(samples.slice(-size), q));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('recomputes only after 1/16 of the samples are new, then catches up', () => {
    const window = new LatencyWindow(160, 0.5);
    for (let i = 0; i < 160; i++) window.add(100);
    expect(window.quantile()).toBe(100);
    for (let i = 0; i < 9; i++) window.add(1);
    // 9 new samples out of 160 (< 1/16): the cached estimate stands.
    expect(window.quantile()).toBe(100);
    for (let i = 0; i < 160; i++) window.add(1);
    expect(window.quantile()).toBe(1);
  });

  it('stays correct on sorted and constant input (median-of-three pivot)', () => {
    const window = new LatencyWindow(1000, 0.99);
    for (let i = 0; i < 1000; i++) window.add(i);
    expect(window.quantile()).toBe(989);
    const flat = new LatencyWindow(1000, 0.5);
    for (let i = 0; i < 1000; i++) flat.add(7);
    expect(flat.quantile()).toBe(7);
  });
});
