/**
 * The limit must settle near the dependency's capacity. A simulated
 * dependency in virtual time (benchmarks/lib/adaptive-sim.ts): `capacity`
 * workers with 10 ms ± 30 % service time and a FIFO queue, so latency is flat
 * up to capacity and grows past it; closed-loop clients (2 × capacity) keep
 * it saturated. benchmarks/scenarios/adaptive-curve.ts draws the same curve.
 */
import { describe, expect, it } from 'vitest';
import type { AdaptiveConcurrencyOptions } from '../../src/index.js';
import {
  type AdaptiveSimResult,
  type LimitSample,
  runAdaptiveSim,
} from '../../benchmarks/lib/adaptive-sim.js';

const BASE = 10;

const algorithms: [string, Omit<AdaptiveConcurrencyOptions, 'clock'>][] = [
  ['gradient', { algorithm: 'gradient' }],
  // AIMD needs a latency signal: calls slower than 1.5 × the service time count as overload.
  ['aimd', { algorithm: 'aimd', latencyThreshold: 1.5 * BASE }],
];

/** Samples in [from, to) ms, leaving out the gradient's deliberate probe dips. */
const settled = (result: AdaptiveSimResult, from: number, to: number): LimitSample[] =>
  result.samples.filter((s) => s.t >= from && s.t < to && !s.probing);

const median = (values: number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

describe.each(algorithms)('%s converges near capacity', (_name, policy) => {
  it.each([
    [10, 1],
    [25, 2],
  ])(
    'capacity %i (seed %i): after 5 s of warm-up the limit stays within [0.9, 1.6] × capacity',
    async (capacity, seed) => {
      const result = await runAdaptiveSim({
        policy,
        phases: [{ ms: 15_000, capacity }],
        baseLatency: BASE,
        seed,
      });
      const limits = settled(result, 5_000, 15_000).map((s) => s.limit);
      expect(limits.length).toBeGreaterThan(80);
      expect(Math.min(...limits)).toBeGreaterThanOrEqual(0.9 * capacity);
      expect(Math.max(...limits)).toBeLessThanOrEqual(1.6 * capacity);
      expect(median(limits)).toBeGreaterThanOrEqual(capacity);
      expect(median(limits)).toBeLessThanOrEqual(1.4 * capacity);
      // Near capacity means the dependency stays busy without a long queue.
      expect(result.completed).toBeGreaterThan(0.97 * result.ideal);
      expect(result.meanLatency).toBeLessThan(1.5 * BASE);
    },
  );

  it('follows a drop in capacity (20 → 10) and a rise (10 → 30) within 3 s', async () => {
    const result = await runAdaptiveSim({
      policy,
      phases: [
        { ms: 8_000, capacity: 20 },
        { ms: 8_000, capacity: 10 },
        { ms: 8_000, capacity: 30 },
      ],
      baseLatency: BASE,
      seed: 3,
    });
    for (const [from, to, capacity] of [
      [3_000, 8_000, 20],
      [11_000, 16_000, 10],
      [19_000, 24_000, 30],
    ] as const) {
      const limits = settled(result, from, to).map((s) => s.limit);
      expect(Math.min(...limits)).toBeGreaterThanOrEqual(0.9 * capacity);
      expect(Math.max(...limits)).toBeLessThanOrEqual(1.6 * capacity);
    }
  });
});

it('without a latency threshold or drops, AIMD has no overload signal and grows to its maximum', async () => {
  // The documented reason AIMD needs latencyThreshold (or a timeout inside): an honest negative.
  const result = await runAdaptiveSim({
    policy: { algorithm: 'aimd', maxLimit: 60 },
    phases: [{ ms: 10_000, capacity: 10 }],
    baseLatency: BASE,
    clients: 60,
  });
  expect(result.samples.at(-1)!.limit).toBe(60);
});

it('a gradient probe dips to about half the limit for about one round trip', async () => {
  const result = await runAdaptiveSim({
    policy: { algorithm: 'gradient' },
    phases: [{ ms: 15_000, capacity: 20 }],
    baseLatency: BASE,
    sampleEvery: 5,
  });
  const probing = result.samples.filter((s) => s.probing);
  expect(probing.length).toBeGreaterThan(0);
  for (const s of probing) expect(s.limit).toBeGreaterThanOrEqual(0.5 * 20);
  // Probes are a small share of the time.
  expect(probing.length / result.samples.length).toBeLessThan(0.05);
});
