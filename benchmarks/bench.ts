/**
 * Per-call overhead of bulwark's policies against a bare `await fn()` and
 * against cockatiel 3.2, opossum 9 and p-retry 7, in one process.
 *
 *   npm run bench            (node --expose-gc --import tsx benchmarks/bench.ts)
 *
 * Environment: BULWARK_FROM=build|dist|src (default build, see lib/load.ts),
 * BENCH_CLOCK=cpu|wall (default cpu), BENCH_ROUNDS (9), BENCH_TIME (ms per
 * case per round, 100), BENCH_WARMUP (ms per case, 100), BENCH_FILTER
 * (regexp on case names; the bare rows always run).
 * Method and results: docs/benchmarks.md.
 */
import os from 'node:os';
import { type BreakerHeap, breakerHeap } from './lib/breaker-heap.js';
import { BARE, BARE_REJECT, buildSuite, checkRows, type Row, type Section } from './lib/cases.js';
import { loadBulwark } from './lib/load.js';
import { type BenchClock, type Measured, measure } from './lib/measure.js';
import { canMeasureHeap } from './lib/memory.js';
import { count, ns, ratio, table } from './lib/table.js';
import { checkTargets } from './lib/targets.js';
import { timerCheck } from './lib/timers.js';

const env = process.env;
const int = (name: string, fallback: number) => {
  const raw = env[name];
  const n = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`${name} must be an integer ≥ 0, got ${raw}`);
  return n;
};
const clock = (env.BENCH_CLOCK || 'cpu') as BenchClock;
if (clock !== 'cpu' && clock !== 'wall')
  throw new RangeError(`BENCH_CLOCK must be cpu or wall, got ${clock}`);
const settings = {
  clock,
  rounds: Math.max(1, int('BENCH_ROUNDS', 9)),
  time: int('BENCH_TIME', 100),
  warmup: int('BENCH_WARMUP', 100),
  sampleMs: 1,
};
const filter = env.BENCH_FILTER ? new RegExp(env.BENCH_FILTER, 'i') : undefined;
const BREAKERS = 10_000;

const out = (line = '') => process.stdout.write(`${line}\n`);
const progress = (text: string) => {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${text}`);
};
const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

/** What reading the clock costs here, in CPU time: the timeout and the rate limiter read it once per call. */
function clockReadNs(): number {
  const n = 2_000_000;
  let sink = 0;
  for (let i = 0; i < n; i++) sink += Date.now();
  const before = process.cpuUsage();
  for (let i = 0; i < n; i++) sink += Date.now();
  const { user, system } = process.cpuUsage(before);
  return sink === 0 ? Number.NaN : ((user + system) * 1000) / n;
}

// ---------------------------------------------------------------- setup

const { lib, from } = await loadBulwark();
const suite = await buildSuite(lib);
const rows = suite.rows.filter(
  (r) => !filter || filter.test(r.name) || r.name === BARE || r.name === BARE_REJECT,
);
await checkRows(rows);

out('# bulwark benchmark: per-call overhead');
out();
out(`command: ${env.BULWARK_FROM ? `BULWARK_FROM=${env.BULWARK_FROM} ` : ''}npm run bench`);
out(`bulwark: ${from}`);
out(
  `node ${process.version} (V8 ${process.versions.v8}), ${os.platform()} ${os.arch()}, ${os.cpus()[0]?.model ?? 'unknown cpu'}, nproc ${os.availableParallelism()}`,
);
out(`Date.now(): ${clockReadNs().toFixed(1)} ns of CPU per call; load average at start: ${load()}`);
out(
  `method: ${clock === 'cpu' ? 'process CPU time' : 'wall-clock time'}; ${settings.rounds} rounds × ${settings.time} ms per case after a ${settings.warmup} ms warm-up round; a sample is ~${settings.sampleMs} ms of sequential awaited calls; ratios are medians over rounds of same-round ratios`,
);
if (suite.missing.length > 0) out(`not exported by bulwark yet, rows left out: ${suite.missing.join(', ')}`);
out();

// ---------------------------------------------------------------- per-call overhead

const started = performance.now();
const results = await measure(rows, {
  ...settings,
  onCase: (round, rounds, name) => progress(`round ${round + 1}/${rounds}: ${name}`),
});
const byName = new Map<string, Measured>(results.map((m) => [m.name, m]));
const get = (name: string) => byName.get(name);

const titles: Record<Section, string> = {
  floor: 'Floors: what any wrapper costs here',
  single: 'Each policy alone, happy path',
  pipeline: 'Pipelines, happy path',
  reject: 'Failure path: an open breaker rejecting (× is to a bare rejected await)',
};
for (const section of ['floor', 'single', 'pipeline', 'reject'] as const) {
  const inSection = rows.filter((r) => r.section === section);
  if (inSection.length === 0) continue;
  const reference = (r: Row) => (r.outcome === 'reject' ? BARE_REJECT : BARE);
  out(`## ${titles[section]}`);
  out();
  out(
    table(
      ['case', 'ns/call', 'p50', 'p99', 'wall ns/call', 'calls/s', '× bare'],
      inSection.map((r) => {
        const m = get(r.name)!;
        const cells = [m.mean, m.p50, m.p99, m.wall].map(ns);
        return [r.name, ...cells, count(m.opsPerSec), ratio(m.ratio(reference(r)))];
      }),
    ),
  );
  out();
}

const compared = suite.comparisons.filter(([a, b]) => get(a) && get(b));
if (compared.length > 0) {
  out('## bulwark vs peers (speedup = peer time / bulwark time, same rounds)');
  out();
  out(
    table(
      ['bulwark', 'peer', 'bulwark ns', 'peer ns', 'speedup'],
      compared.map(([a, b]) => [a, b, ns(get(a)!.mean), ns(get(b)!.mean), ratio(get(b)!.ratio(a))]),
    ),
  );
  out();
}

// ---------------------------------------------------------------- timers and memory

progress('counting timers');
const timers = await timerCheck(lib);
out('## Timers started on the happy path');
out();
out(
  table(
    ['policy', 'calls', 'ms', 'setTimeout calls'],
    timers.rows.map((t) => [t.name, count(t.calls), count(t.ms), count(t.timers)]),
  ),
);
out();

let heap: BreakerHeap | undefined;
if (canMeasureHeap) {
  progress('measuring heap per breaker');
  heap = await breakerHeap(lib, BREAKERS);
  out(`## Heap per idle breaker (${count(BREAKERS)} breakers, each used once; heapUsed after a full GC)`);
  out();
  out(
    table(
      ['breakers', 'bytes each'],
      heap.rows.map((r) => [r.name, ns(r.bytes)]),
    ),
  );
  out();
} else {
  out('## Heap per idle breaker: skipped (needs node --expose-gc)');
  out();
}
progress('');

// ---------------------------------------------------------------- targets

const targets = checkTargets(get, heap, timers);
out('## Targets (issues 2 and 3)');
out();
out(
  table(
    ['target', 'measured', 'limit', 'result'],
    targets.map((t) => [t.what, t.measured, t.limit, t.pass ? 'PASS' : 'FAIL']),
  ),
);
out();
const seconds = ((performance.now() - started) / 1000).toFixed(0);
out(
  `${targets.filter((t) => t.pass).length} of ${targets.length} targets pass. ${seconds} s; load average at end: ${load()}`,
);
suite.close();
