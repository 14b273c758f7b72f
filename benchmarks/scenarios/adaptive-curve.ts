/**
 * How adaptive concurrency finds a dependency's capacity, in virtual time:
 * closed-loop clients (2 × the largest capacity, each sending its next request
 * as soon as the last one settled) call a dependency of `capacity` workers
 * and 10 ms service time (± 30 %) through `adaptiveConcurrency`. Past
 * capacity, requests queue at the dependency and latency rises. Capacity
 * goes 20 → 10 → 30 workers. Prints the limit over time for both
 * algorithms and writes docs/img/adaptive-curve.svg.
 *
 *   npx tsx benchmarks/scenarios/adaptive-curve.ts
 *
 * Seeded (SEED=n to change it): the same command prints the same numbers.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { AdaptiveConcurrencyOptions } from '../../src/index.js';
import { type AdaptiveSimResult, type CapacityPhase, runAdaptiveSim } from '../lib/adaptive-sim.js';
import { lineChart } from '../lib/svg.js';
import { table } from '../lib/table.js';

const BASE_LATENCY = 10;
const PHASES: readonly CapacityPhase[] = [
  { ms: 25_000, capacity: 20 },
  { ms: 25_000, capacity: 10 },
  { ms: 25_000, capacity: 30 },
];
/** Samples this long after a capacity change are warm-up, left out of the summary. */
const WARM_UP = 5_000;

const RUNS: readonly { name: string; color: string; policy: Omit<AdaptiveConcurrencyOptions, 'clock'> }[] = [
  { name: 'gradient (defaults)', color: '#2563eb', policy: { algorithm: 'gradient' } },
  {
    name: 'aimd (latencyThreshold 15 ms)',
    color: '#dc2626',
    policy: { algorithm: 'aimd', latencyThreshold: 1.5 * BASE_LATENCY },
  },
];

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

/** Per phase: the limit's spread after warm-up, as multiples of capacity. */
function summarize(name: string, result: AdaptiveSimResult): string[][] {
  const rows: string[][] = [];
  let start = 0;
  for (const phase of PHASES) {
    const settled = result.samples.filter(
      (s) => s.t >= start + WARM_UP && s.t < start + phase.ms && !s.probing,
    );
    const limits = settled.map((s) => s.limit).sort((a, b) => a - b);
    const c = phase.capacity;
    const ratio = (n: number) => `${n} (${(n / c).toFixed(2)}×)`;
    rows.push([
      name,
      String(c),
      ratio(limits[0] ?? Number.NaN),
      ratio(quantile(limits, 0.5)),
      ratio(limits[limits.length - 1] ?? Number.NaN),
    ]);
    start += phase.ms;
  }
  return rows;
}

async function main(): Promise<void> {
  const seed = Number(process.env.SEED ?? 1);
  const results: AdaptiveSimResult[] = [];
  for (const run of RUNS) {
    results.push(
      await runAdaptiveSim({ policy: run.policy, phases: PHASES, baseLatency: BASE_LATENCY, seed }),
    );
  }
  console.log('Limit over time (every 2 s of virtual time)\n');
  const seconds = PHASES.reduce((sum, p) => sum + p.ms, 0) / 1000;
  const header = ['t (s)', 'capacity', ...RUNS.map((r) => r.name)];
  const rows: string[][] = [];
  for (let t = 0; t < seconds; t += 2) {
    const at = (result: AdaptiveSimResult) => result.samples.find((s) => s.t >= t * 1000);
    rows.push([
      String(t),
      String(at(results[0]!)?.capacity ?? ''),
      ...results.map((r) => String(at(r)?.limit ?? '')),
    ]);
  }
  console.log(table(header, rows));
  console.log(`\nSettled limit per phase (${WARM_UP / 1000} s after each change, probes left out)\n`);
  console.log(
    table(
      ['algorithm', 'capacity', 'min', 'median', 'max'],
      RUNS.flatMap((run, i) => summarize(run.name, results[i]!)),
    ),
  );
  console.log('\nThroughput\n');
  console.log(
    table(
      ['algorithm', 'served', 'ideal', 'share', 'rejected', 'mean latency'],
      RUNS.map((run, i) => {
        const r = results[i]!;
        return [
          run.name,
          String(r.completed),
          String(r.ideal),
          `${((100 * r.completed) / r.ideal).toFixed(1)} %`,
          String(r.rejected),
          `${r.meanLatency.toFixed(1)} ms`,
        ];
      }),
    ),
  );
  const svg = lineChart({
    title: 'adaptiveConcurrency: limit vs. dependency capacity (virtual time, seeded)',
    xLabel: 'time (s)',
    yLabel: 'concurrency',
    series: [
      {
        name: 'capacity',
        color: '#6b7280',
        dashed: true,
        step: true,
        points: results[0]!.samples.map((s) => [s.t / 1000, s.capacity] as const),
      },
      ...RUNS.map((run, i) => ({
        name: run.name,
        color: run.color,
        points: results[i]!.samples.map((s) => [s.t / 1000, s.limit] as const),
      })),
    ],
  });
  const out = fileURLToPath(new URL('../../docs/img/adaptive-curve.svg', import.meta.url));
  writeFileSync(out, svg);
  console.log(`\nwrote ${out}`);
}

await main();
