import { describe, expect, it } from 'vitest';
import { Outcome } from '../../src/adaptive/limit.js';
import { completeProbe, make, windowOf } from './gradient-helpers.js';

describe('gradient limit', () => {
  it('closes a window after max(10, limit) samples and takes the first window as the baseline', () => {
    const limit = make({ initialLimit: 20 });
    windowOf(limit, 10, { bound: true, n: 19 });
    expect(limit.limit).toBe(20);
    expect(limit.details()).toEqual({ baselineRtt: 0, probing: false });
    limit.settle(Outcome.Sample, 10, 990, 1_000, false);
    expect(limit.details()).toEqual({ baselineRtt: 10, probing: false });
    // No queueing measured and the limit was reached: + √limit (smoothing 1).
    expect(limit.limit).toBe(Math.floor(20 + Math.sqrt(20)));
  });

  it('grows only when the limit was reached during the window', () => {
    const limit = make();
    windowOf(limit, 10);
    windowOf(limit, 10);
    expect(limit.limit).toBe(20);
    limit.acquire(20);
    windowOf(limit, 10);
    expect(limit.limit).toBe(24);
  });

  it('shrinks by the gradient tolerance × baseline / shortRtt when latency rises past the tolerance', () => {
    const limit = make();
    windowOf(limit, 10);
    // 12 ms is within 25 % of 10 ms: no queueing.
    windowOf(limit, 12, { bound: false });
    expect(limit.limit).toBe(20);
    windowOf(limit, 20, { bound: true });
    // gradient = 1.25 × 10 / 20 = 0.625
    expect(limit.limit).toBe(12);
    expect(limit.reason).toBe('decrease');
  });

  it('clamps the gradient at 0.5, so one slow window at most halves the limit', () => {
    const limit = make();
    windowOf(limit, 10);
    windowOf(limit, 1_000);
    expect(limit.limit).toBe(10);
  });

  it('applies smoothing to each move', () => {
    const limit = make({ smoothing: 0.5 });
    windowOf(limit, 10);
    windowOf(limit, 20);
    // 20 × (1 − 0.5) + 20 × 0.625 × 0.5 = 16.25
    expect(limit.limit).toBe(16);
  });

  it('counts a drop as the strongest gradient (0.5), at once', () => {
    const limit = make({ smoothing: 0.2 });
    limit.settle(Outcome.Drop, 5, 100, 105, false);
    // 20 × 0.8 + 10 × 0.2 = 18
    expect(limit.limit).toBe(18);
    expect(limit.reason).toBe('decrease');
  });

  it('decreases once per congestion event: drops of calls started before the last decrease are skipped', () => {
    const limit = make();
    limit.settle(Outcome.Drop, 50, 50, 100, false);
    expect(limit.limit).toBe(10);
    limit.settle(Outcome.Drop, 50, 60, 110, false);
    expect(limit.limit).toBe(10);
    limit.settle(Outcome.Drop, 10, 120, 130, false);
    expect(limit.limit).toBe(5);
  });

  it('ignores outcomes that say nothing about the dependency', () => {
    const limit = make();
    for (let i = 0; i < 100; i++) limit.settle(Outcome.Ignore, 1, 0, 1, false);
    expect(limit.limit).toBe(20);
    expect(limit.details()).toEqual({ baselineRtt: 0, probing: false });
  });

  it('drifts the baseline down towards windows clearly faster than it', () => {
    const limit = make();
    windowOf(limit, 100);
    windowOf(limit, 90);
    expect(limit.details().baselineRtt).toBe(100);
    windowOf(limit, 50);
    // 10 % of the way from 100 to 50.
    expect(limit.details().baselineRtt).toBe(95);
  });

  it('never lets the baseline drift up between probes: a lasting queue keeps shrinking the limit', () => {
    const limit = make({ smoothing: 0.2, minLimit: 5 });
    windowOf(limit, 10);
    for (let i = 0; i < 10; i++) windowOf(limit, 30, { bound: true });
    expect(limit.details().baselineRtt).toBe(10);
    expect(limit.limit).toBeLessThan(20);
  });

  it('treats RTTs under 1 ms as 1 ms (the default clock ticks in milliseconds)', () => {
    const limit = make();
    windowOf(limit, 0);
    expect(limit.details().baselineRtt).toBe(1);
    windowOf(limit, 0, { bound: true });
    expect(limit.limit).toBe(24);
  });

  it('probes after 16 windows: halves the limit for one round of calls and takes their mean RTT as the baseline', () => {
    const limit = make({ smoothing: 0.2 });
    for (let i = 0; i < 15; i++) windowOf(limit, 10);
    expect(limit.details().probing).toBe(false);
    windowOf(limit, 10);
    expect(limit.details().probing).toBe(true);
    expect(limit.reason).toBe('probe');
    expect(limit.limit).toBe(10);
    // Samples from calls that started before the probe do not count.
    windowOf(limit, 500);
    expect(limit.limit).toBe(10);
    expect(completeProbe(limit, 20)).toBe(10);
    expect(limit.details()).toEqual({ baselineRtt: 20, probing: false });
    expect(limit.reason).toBe('probeEnd');
    expect(limit.limit).toBe(20);
  });

  it('tags max(10, probe limit) calls, and only those, for the probe', () => {
    const limit = make({ initialLimit: 60 });
    for (let i = 0; i < 16; i++) windowOf(limit, 10);
    expect(limit.limit).toBe(30);
    expect(completeProbe(limit, 10)).toBe(30);
  });

  it('holds concurrency at half of what actually ran, which may be well under the limit', () => {
    const limit = make({ initialLimit: 60 });
    for (let i = 0; i < 16; i++) windowOf(limit, 10, { inflight: 12 });
    expect(limit.details().probing).toBe(true);
    expect(limit.limit).toBe(6);
  });

  it('keeps the baseline when every probe call was a drop or ignored', () => {
    const limit = make();
    for (let i = 0; i < 16; i++) windowOf(limit, 10);
    expect(limit.details().probing).toBe(true);
    let tagged = 0;
    while (limit.acquire(1)) tagged += 1;
    for (let i = 0; i < tagged; i++) limit.settle(Outcome.Ignore, 3, 5_000, 5_003, true);
    expect(limit.details()).toEqual({ baselineRtt: 10, probing: false });
  });

  it('a drop during a probe still lowers the limit the probe returns to', () => {
    const limit = make();
    for (let i = 0; i < 16; i++) windowOf(limit, 10);
    let tagged = 0;
    while (limit.acquire(1)) tagged += 1;
    limit.settle(Outcome.Drop, 3, 5_000, 5_003, true);
    for (let i = 1; i < tagged; i++) limit.settle(Outcome.Sample, 10, 5_000, 5_010, true);
    expect(limit.details().probing).toBe(false);
    expect(limit.limit).toBe(10);
  });

  it('probes less often while probes confirm the baseline, and soon again after one moved it', () => {
    const limit = make();
    const windowsToNextProbe = () => {
      let n = 0;
      while (!(limit.details().probing as boolean)) {
        windowOf(limit, 10);
        n += 1;
      }
      return n;
    };
    expect(windowsToNextProbe()).toBe(16);
    completeProbe(limit, 10);
    expect(windowsToNextProbe()).toBe(32);
    completeProbe(limit, 10);
    expect(windowsToNextProbe()).toBe(64);
    completeProbe(limit, 30);
    // The baseline moved: back to the shortest interval.
    expect(windowsToNextProbe()).toBe(16);
  });

  it('probes early after 20 windows in a row that measured queueing, in case the latency is not ours', () => {
    const limit = make({ smoothing: 0.01, minLimit: 10 });
    for (let i = 0; i < 16; i++) windowOf(limit, 10);
    completeProbe(limit, 10);
    // The next scheduled probe is 32 windows away.
    for (let i = 0; i < 19; i++) windowOf(limit, 100);
    expect(limit.details().probing).toBe(false);
    windowOf(limit, 100);
    expect(limit.details().probing).toBe(true);
    // The dependency really became slower: the probe adopts the new baseline.
    completeProbe(limit, 100);
    expect(limit.details().baselineRtt).toBe(100);
  });

  it('stays within [minLimit, maxLimit]', () => {
    const limit = make({ initialLimit: 10, minLimit: 8, maxLimit: 12 });
    windowOf(limit, 10);
    windowOf(limit, 1_000, { now: 2_000 });
    windowOf(limit, 1_000, { now: 3_000 });
    expect(limit.limit).toBe(8);
    for (let i = 0; i < 5; i++) windowOf(limit, 10, { bound: true, now: 4_000 });
    expect(limit.limit).toBe(12);
  });
});
