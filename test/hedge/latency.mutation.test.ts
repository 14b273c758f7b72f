/**
 * Tests written to kill mutants that survived `npm run mutation` on
 * src/hedge/latency.ts (see docs/testing.md, "Mutation testing"): each pins a
 * behaviour that no other test observed. Named after the behaviour, not the mutant.
 */
import { describe, expect, it } from 'vitest';
import { LatencyWindow } from '../../src/hedge/latency.js';

describe('LatencyWindow (hedge/latency)', () => {
  it('keeps its estimate until exactly 1/16 of the samples are new, then recomputes', () => {
    // q = 0.99 of 32 samples is the largest: one new sample would move it.
    const window = new LatencyWindow(32, 0.99);
    for (let i = 0; i < 32; i++) window.add(10);
    expect(window.quantile()).toBe(10);
    window.add(1_000);
    // 1 new sample out of 32 (< 1/16): the cached estimate stands, though the true p99 is 1000.
    expect(window.quantile()).toBe(10);
    expect(window.quantile()).toBe(10);
    window.add(1_000);
    // 2 new samples out of 32 (exactly 1/16): recomputed.
    expect(window.quantile()).toBe(1_000);
    // The count of new samples restarts from 0 after a recomputation.
    window.add(5_000);
    expect(window.quantile()).toBe(1_000);
    window.add(5_000);
    expect(window.quantile()).toBe(5_000);
  });
});
