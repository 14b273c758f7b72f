import { performance } from 'node:perf_hooks';
import { Bench } from 'tinybench';

/** The work a case runs: `async () => 1`. */
export type Work = () => Promise<number>;

let workSerial = 0;

/**
 * A new `async () => 1` with its own type feedback. Cases share no function:
 * V8 optimizes a function from what its call sites have seen, so a `work`
 * shared by every case would make the bare baseline depend on which policies
 * ran before it.
 */
export function freshWork(): Work {
  // A unique source text: V8 caches compiled code by source, and a cache hit
  // would hand back a function sharing the earlier one's feedback.
  workSerial += 1;
  return new Function(`/* work ${workSerial} */ return async function work() { return 1; }`)() as Work;
}

/** One benchmarked call: `run(work)` is awaited many times in a row per sample. */
export interface Case {
  /** Row label in the table; unique. */
  readonly name: string;
  /** The call under test; `work` is this case's own `async () => 1`. */
  readonly run: (work: Work) => Promise<unknown>;
  /** `reject`: every call is expected to reject, and the loop catches it. */
  readonly outcome?: 'resolve' | 'reject';
}

/** Per-call figures for one case, in ns, aggregated over all rounds. */
export interface Measured {
  readonly name: string;
  /** Median over rounds of the mean time per call, on the chosen clock. */
  readonly mean: number;
  /** Median and 99th percentile, over all sampled batches, of their time per call. */
  readonly p50: number;
  readonly p99: number;
  /** Median over rounds of the wall-clock mean per call (equals `mean` on the wall clock). */
  readonly wall: number;
  /** Calls per second, from `mean`. */
  readonly opsPerSec: number;
  /** Calls per sampled batch. */
  readonly batch: number;
  /** Batches sampled, over all rounds. */
  readonly samples: number;
  /** Median over rounds of `mean` divided by the reference case's in the same round. */
  ratio(reference: string): number;
}

/**
 * `cpu`: this process's CPU time (user + system, all threads). Time other
 * processes take on a shared machine does not count; garbage collection on
 * helper threads does. `wall`: elapsed time.
 */
export type BenchClock = 'cpu' | 'wall';

export interface MeasureOptions {
  readonly clock: BenchClock;
  /** Measured rounds; each runs every case once, in a rotated order. */
  readonly rounds: number;
  /** Measured time per case per round, ms. */
  readonly time: number;
  /** Time per case of a first, unmeasured round (lets the JIT settle with every case loaded), ms. */
  readonly warmup: number;
  /** Target duration of one sampled batch, ms: long against the clock's resolution and cost. */
  readonly sampleMs: number;
  /** Called before each case runs (progress output). */
  readonly onCase?: (round: number, rounds: number, name: string) => void;
}

/** Milliseconds of CPU time this process used: µs resolution, a syscall per read. */
function cpuNow(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

let loopSerial = 0;

/**
 * Builds the timed loop for one case. Each loop is compiled from its own
 * source text so it gets its own type feedback: closures made from one
 * function literal share feedback in V8, which would make the loop's call
 * site megamorphic and charge that to whichever case runs later.
 */
function loopFor(c: Case, work: Work, batch: number): () => Promise<void> {
  loopSerial += 1;
  const body =
    c.outcome === 'reject'
      ? 'for (let i = 0; i < n; i++) { try { await run(work); } catch {} }'
      : 'for (let i = 0; i < n; i++) await run(work);';
  const source = `/* ${loopSerial}: ${c.name.replace(/\*\//g, '')} */ return async function loop() { ${body} };`;
  return new Function('run', 'work', 'n', source)(c.run, work, batch) as () => Promise<void>;
}

/** Calls per batch so that one batch takes about `sampleMs`. */
async function calibrate(c: Case, work: Work, sampleMs: number): Promise<number> {
  const probe = loopFor(c, work, 200);
  await probe();
  const start = performance.now();
  await probe();
  const perCall = Math.max((performance.now() - start) / 200, 1e-6);
  return Math.min(100_000, Math.max(20, Math.round(sampleMs / perCall)));
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

const forceGc = (globalThis as { gc?: () => void }).gc;

/**
 * Measures every case in interleaved rounds with tinybench. A sample times a
 * batch of sequential awaited calls, so reading the clock costs nothing
 * against it; ratios are taken within a round, so drift cancels out, and the
 * median over rounds drops a disturbed round.
 */
export async function measure(cases: readonly Case[], options: MeasureOptions): Promise<Measured[]> {
  const { rounds } = options;
  const now = options.clock === 'cpu' ? cpuNow : () => performance.now();
  const works = cases.map(() => freshWork());
  const batches: number[] = [];
  for (const [i, c] of cases.entries()) batches.push(await calibrate(c, works[i]!, options.sampleMs));
  const loops = cases.map((c, i) => loopFor(c, works[i]!, batches[i]!));
  const perRound = cases.map(() => ({ mean: [] as number[], wall: [] as number[] }));
  const pooled = cases.map(() => [] as number[]);

  const runRound = async (round: number, time: number, record: boolean) => {
    const start = (round * 5) % cases.length;
    for (let k = 0; k < cases.length; k++) {
      const index = (start + k) % cases.length;
      const c = cases[index]!;
      const batch = batches[index]!;
      options.onCase?.(round, rounds, c.name);
      forceGc?.();
      const bench = new Bench({
        now,
        time,
        iterations: 8,
        // The unmeasured first round is the warm-up.
        warmup: false,
        retainSamples: record,
        throws: true,
      });
      bench.add(c.name, loops[index]!);
      const wallFrom = performance.now();
      await bench.run();
      const wallMs = performance.now() - wallFrom;
      if (!record) continue;
      const result = bench.tasks[0]!.result;
      if (result.state !== 'completed') throw new Error(`${c.name}: benchmark ${result.state}`);
      const toNs = (ms: number) => (ms * 1e6) / batch;
      perRound[index]!.mean.push(toNs(result.latency.mean));
      perRound[index]!.wall.push(toNs(wallMs / result.latency.samplesCount));
      for (const ms of result.latency.samples ?? []) pooled[index]!.push(toNs(ms));
    }
  };

  if (options.warmup > 0) await runRound(0, options.warmup, false);
  for (let round = 0; round < rounds; round++) await runRound(round, options.time, true);

  const byName = new Map(cases.map((c, i) => [c.name, i]));
  return cases.map((c, i) => {
    const stats = perRound[i]!;
    const sorted = pooled[i]!.sort((a, b) => a - b);
    const mean = median(stats.mean);
    return {
      name: c.name,
      mean,
      p50: quantile(sorted, 0.5),
      p99: quantile(sorted, 0.99),
      wall: median(stats.wall),
      opsPerSec: 1e9 / mean,
      batch: batches[i]!,
      samples: sorted.length,
      ratio(reference: string): number {
        const r = byName.get(reference);
        if (r === undefined) throw new Error(`no case named ${reference}`);
        const ref = perRound[r]!.mean;
        return median(stats.mean.map((value, round) => value / ref[round]!));
      },
    };
  });
}
