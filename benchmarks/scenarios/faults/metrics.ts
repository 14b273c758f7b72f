/**
 * What a run's log says: goodput, amplification, latency and recovery, over
 * the requests that arrived during the incident, plus series for the charts.
 */
import type { FaultScenario } from './scenarios.js';
import type { RunLog } from './simulate.js';

/** A request counts as recovered service in a window when this share of them succeeds. */
export const RECOVERED_SUCCESS = 0.95;
/** Length of the window recovery is judged over, ms. */
export const RECOVERY_WINDOW = 1_000;
/** Recovery is searched in steps of this many ms after the dependency healed. */
export const RECOVERY_STEP = 100;
/** Width of a bucket of the goodput-over-time series, ms. */
export const SERIES_BUCKET = 1_000;
/**
 * Requests arriving this long after the incident began are "settled": breakers
 * have had time to open and limits to adapt. `p99 settled` is taken over them.
 */
export const SETTLE = 5_000;

/** The figures of one run (or the median of several). */
export interface Metrics {
  /** Requests that arrived during the incident. */
  readonly requests: number;
  /**
   * Successful answers delivered per second during the incident (success = an
   * answer within the deadline), counted when they are delivered.
   */
  readonly goodput: number;
  /** Share of the requests arriving during the incident that succeeded. */
  readonly success: number;
  /** Calls that reached the dependency during the incident, per request that arrived during it. */
  readonly amplification: number;
  /** Latency the callers saw (successes and failures alike) for the incident's requests, ms. */
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** p99 latency of the requests arriving at least {@link SETTLE} ms into the incident. */
  readonly p99Settled: number;
  /**
   * Seconds from the dependency healing to the start of the first 1-s window
   * (by arrival) in which ≥ 95 % of requests succeeded; Infinity if none.
   */
  readonly recovery: number;
  /** Calls started after their request's deadline, over the whole run. */
  readonly lateCalls: number;
  /** Requests the dependency served for a caller that had given up, over the whole run. */
  readonly wasted: number;
  /** Unhandled rejections and throwing timers during the run (should be 0). */
  readonly faults: number;
}

/** A run's metrics and the series drawn in the charts. */
export interface RunSummary {
  readonly scenario: string;
  readonly contender: string;
  readonly seed: number;
  readonly metrics: Metrics;
  /** Successful requests completed in each 1-s bucket of the run. */
  readonly goodputSeries: readonly number[];
  /** Calls reaching the dependency in each 1-s bucket. */
  readonly callsSeries: readonly number[];
}

/** The q-quantile (0..1) of sorted values, by the nearest-rank method. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1]!;
}

/** Median of the values (mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Index of the first request that arrived at or after `t` (arrivals are in order). */
function firstArrival(log: RunLog, t: number): number {
  let lo = 0;
  let hi = log.count;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (log.arrival[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Seconds until service recovered after `healedAt` (see {@link Metrics.recovery}). */
export function recoveryTime(log: RunLog, healedAt: number, horizon: number): number {
  for (let offset = 0; healedAt + offset + RECOVERY_WINDOW <= horizon; offset += RECOVERY_STEP) {
    const from = firstArrival(log, healedAt + offset);
    const to = firstArrival(log, healedAt + offset + RECOVERY_WINDOW);
    let successes = 0;
    for (let i = from; i < to; i++) successes += log.ok[i]!;
    if (to > from && successes >= RECOVERED_SUCCESS * (to - from)) return offset / 1_000;
  }
  return Number.POSITIVE_INFINITY;
}

/** The metrics of one run. */
export function measure(log: RunLog, scenario: FaultScenario): Metrics {
  const { from, to } = scenario.bad;
  if (from % 1_000 !== 0 || to % 1_000 !== 0)
    throw new Error('the incident must start and end on whole seconds');
  const latencies: number[] = [];
  const settled: number[] = [];
  let successes = 0;
  let delivered = 0;
  for (let i = 0; i < log.count; i++) {
    const t = log.arrival[i]!;
    const end = log.end[i]!;
    if (log.ok[i] === 1 && end >= from && end < to) delivered += 1;
    if (t < from || t >= to) continue;
    latencies.push(end - t);
    if (t >= from + SETTLE) settled.push(end - t);
    successes += log.ok[i]!;
  }
  let calls = 0;
  for (let second = from / 1_000; second < to / 1_000; second++) calls += log.callsPerSecond[second] ?? 0;
  const requests = latencies.length;
  latencies.sort((a, b) => a - b);
  settled.sort((a, b) => a - b);
  return {
    requests,
    goodput: delivered / ((to - from) / 1_000),
    success: requests === 0 ? Number.NaN : successes / requests,
    amplification: requests === 0 ? Number.NaN : calls / requests,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    max: latencies.length === 0 ? Number.NaN : latencies[latencies.length - 1]!,
    p99Settled: quantile(settled, 0.99),
    recovery: recoveryTime(log, scenario.healedAt, scenario.duration),
    lateCalls: log.lateCalls,
    wasted: log.dependency.wasted,
    faults: log.faults,
  };
}

/** Metrics plus the chart series of one run. */
export function summarize(log: RunLog, scenario: FaultScenario): RunSummary {
  const buckets = Math.ceil(scenario.duration / SERIES_BUCKET);
  const goodputSeries = new Array<number>(buckets).fill(0);
  for (let i = 0; i < log.count; i++) {
    if (log.ok[i] !== 1) continue;
    const bucket = Math.floor(log.end[i]! / SERIES_BUCKET);
    if (bucket < buckets) goodputSeries[bucket]! += 1;
  }
  const callsSeries = Array.from(log.callsPerSecond.subarray(0, buckets));
  return {
    scenario: log.scenario,
    contender: log.contender,
    seed: log.seed,
    metrics: measure(log, scenario),
    goodputSeries: goodputSeries.map((n) => n / (SERIES_BUCKET / 1_000)),
    callsSeries,
  };
}

const METRIC_KEYS = [
  'requests',
  'goodput',
  'success',
  'amplification',
  'p50',
  'p99',
  'max',
  'p99Settled',
  'recovery',
  'lateCalls',
  'wasted',
  'faults',
] as const satisfies readonly (keyof Metrics)[];

/**
 * Median of each metric over runs of the same scenario and library with
 * different seeds (each metric on its own), and the median series.
 */
export function combine(runs: readonly RunSummary[]): RunSummary {
  const first = runs[0];
  if (first === undefined) throw new Error('combine: no runs');
  const metrics = {} as Record<(typeof METRIC_KEYS)[number], number>;
  for (const key of METRIC_KEYS) metrics[key] = median(runs.map((run) => run.metrics[key]));
  // Counts that must be zero are reported as the worst seed, not the median.
  metrics.lateCalls = Math.max(...runs.map((run) => run.metrics.lateCalls));
  metrics.faults = Math.max(...runs.map((run) => run.metrics.faults));
  const series = (pick: (run: RunSummary) => readonly number[]) =>
    pick(first).map((_, i) => median(runs.map((run) => pick(run)[i] ?? 0)));
  return {
    scenario: first.scenario,
    contender: first.contender,
    seed: first.seed,
    metrics,
    goodputSeries: series((run) => run.goodputSeries),
    callsSeries: series((run) => run.callsSeries),
  };
}
