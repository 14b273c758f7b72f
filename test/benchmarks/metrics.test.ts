/** The figures of the fault-outcome tables, computed from hand-made logs. */
import { describe, expect, it } from 'vitest';
import {
  combine,
  measure,
  median,
  quantile,
  type RunSummary,
  recoveryTime,
  summarize,
} from '../../benchmarks/scenarios/faults/metrics.js';
import { type FaultScenario, faultScenarios } from '../../benchmarks/scenarios/faults/scenarios.js';
import type { RunLog } from '../../benchmarks/scenarios/faults/simulate.js';

/** A log of the given requests: [arrival, latency, ok, calls]. */
function logOf(
  requests: readonly (readonly [number, number, 0 | 1, number])[],
  callsPerSecond: number[] = [],
): RunLog {
  return {
    scenario: 'test',
    contender: 'test',
    seed: 1,
    count: requests.length,
    arrival: Float64Array.from(requests.map((r) => r[0])),
    end: Float64Array.from(requests.map((r) => r[0] + r[1])),
    ok: Uint8Array.from(requests.map((r) => r[2])),
    calls: Uint16Array.from(requests.map((r) => r[3])),
    callsPerSecond: Uint32Array.from(callsPerSecond),
    lateCalls: 0,
    dependency: { arrivals: 0, served: 0, refused: 0, wasted: 4, maxQueued: 0 },
    faults: 0,
  };
}

/** A scenario whose incident is [2 s, 4 s) and heals at 4 s, 6 s long. */
const scenario: FaultScenario = {
  ...faultScenarios()[0]!,
  duration: 6_000,
  bad: { from: 2_000, to: 4_000 },
  healedAt: 4_000,
};

describe('fault-outcome metrics', () => {
  it('quantile is the nearest rank, median averages the middle pair', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(quantile(sorted, 0.5)).toBe(50);
    expect(quantile(sorted, 0.99)).toBe(99);
    expect(quantile(sorted, 1)).toBe(100);
    expect(quantile([7], 0.99)).toBe(7);
    expect(quantile([], 0.5)).toBeNaN();
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('counts only the incident: goodput by delivery time, success and latency by arrival, calls by time', () => {
    const log = logOf(
      [
        [1_000, 10, 1, 1], // before the incident
        [1_990, 20, 1, 1], // arrived before, delivered during: goodput only
        [2_000, 100, 1, 2],
        [2_500, 2_000, 0, 4],
        [3_000, 50, 1, 1],
        [3_990, 30, 1, 1], // delivered after the incident: success, not goodput
        [4_500, 10, 1, 1], // after
      ],
      [1, 2, 5, 3, 1, 1],
    );
    const m = measure(log, scenario);
    expect(m.requests).toBe(4);
    expect(m.goodput).toBe(3 / 2);
    expect(m.success).toBe(3 / 4);
    // Calls in seconds 2 and 3 (5 + 3) per request arriving in [2 s, 4 s).
    expect(m.amplification).toBe(8 / 4);
    expect(m.p50).toBe(50);
    expect(m.max).toBe(2_000);
    expect(m.wasted).toBe(4);
  });

  it('p99 settled leaves out the first 5 s of the incident', () => {
    const long: FaultScenario = {
      ...scenario,
      duration: 20_000,
      bad: { from: 0, to: 10_000 },
      healedAt: 10_000,
    };
    const requests: [number, number, 0 | 1, number][] = [];
    for (let t = 0; t < 10_000; t += 10) requests.push([t, t < 5_000 ? 900 : 5, 0, 1]);
    const m = measure(logOf(requests), long);
    expect(m.p99).toBe(900);
    expect(m.p99Settled).toBe(5);
  });

  it('recovery is the start of the first 1-s window after healing with ≥ 95 % success', () => {
    const requests: [number, number, 0 | 1, number][] = [];
    // Failing until 4.7 s, then succeeding.
    for (let t = 4_000; t < 6_000; t += 10) requests.push([t, 1, t < 4_700 ? 0 : 1, 1]);
    const log = logOf(requests);
    // The window [4.7 s, 5.7 s) is the first without a failure; [4.6, 5.6) has 10 of 100 failing.
    expect(recoveryTime(log, 4_000, 6_000)).toBe(0.7);
    expect(recoveryTime(logOf([[4_100, 1, 0, 1]]), 4_000, 6_000)).toBe(Number.POSITIVE_INFINITY);
  });

  it('summarize bins successes by delivery second; combine takes medians, and the worst seed for counts that must be 0', () => {
    const s = summarize(
      logOf(
        [
          [100, 1_000, 1, 1],
          [200, 50, 1, 1],
          [300, 10, 0, 1],
        ],
        [3],
      ),
      scenario,
    );
    expect(s.goodputSeries.slice(0, 2)).toEqual([1, 1]);
    expect(s.callsSeries[0]).toBe(3);
    const run = (goodput: number, lateCalls: number): RunSummary => ({
      ...s,
      metrics: { ...s.metrics, goodput, lateCalls },
      goodputSeries: [goodput],
    });
    const combined = combine([run(1, 0), run(5, 2), run(3, 0)]);
    expect(combined.metrics.goodput).toBe(3);
    expect(combined.metrics.lateCalls).toBe(2);
    expect(combined.goodputSeries).toEqual([3]);
    expect(() => combine([])).toThrow();
  });

  it('refuses an incident that does not start on a whole second', () => {
    expect(() => measure(logOf([]), { ...scenario, bad: { from: 1_500, to: 4_000 } })).toThrow(
      /whole seconds/,
    );
  });
});
