/**
 * Advanced strategies (issue 4) in virtual time: a simulated dependency with
 * (1) a hard outage, (2) a brownout and (3) a long-tail latency distribution,
 * called at a steady open-loop rate through several named configurations.
 * Reports calls reaching the dependency, success, goodput and p99 latency.
 *
 *   npx tsx benchmarks/scenarios/advanced.ts            all scenarios
 *   npx tsx benchmarks/scenarios/advanced.ts brownout   one scenario
 *
 * Everything is seeded (SEED=n to change it): the same command prints the same table.
 */
import { pathToFileURL } from 'node:url';
import * as bulwark from '../../src/index.js';
import { backoff, hedge, type Policy, pipeline, retry, retryBudget, timeout } from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';
import { type DependencySpec, SimulatedDependency } from '../lib/dependency.js';
import { exponential, logNormal, mulberry32, type Random } from '../lib/random.js';
import { table } from '../lib/table.js';

/** What a configuration gets to build its policy with. */
export interface Environment {
  readonly clock: VirtualClock;
  /** Seeded randomness for the policy's own use (backoff jitter). */
  readonly random: Random;
}

/** A named way of calling the dependency. */
export interface Configuration {
  readonly name: string;
  /** The policy to run each call through, or undefined when it cannot be built here (shown as n/a). */
  build(env: Environment): Policy | undefined;
}

/** Each attempt gives up after this long (cooperative timeout: the dependency keeps working). */
const ATTEMPT_TIMEOUT = 300;

const retryOptions = ({ clock, random }: Environment) => ({
  maxAttempts: 3,
  backoff: backoff.exponential({ initial: 20, max: 1_000, random }),
  clock,
});

/**
 * The configurations compared, in table order. Other strategies add a row by
 * pushing here (or by being exported from `src/index.ts`, see the hook below).
 */
export const configurations: Configuration[] = [
  {
    name: 'timeout only',
    build: ({ clock }) => timeout({ ms: ATTEMPT_TIMEOUT, clock }),
  },
  {
    name: '(a) retry ×3',
    build: (env) => pipeline(retry(retryOptions(env)), timeout({ ms: ATTEMPT_TIMEOUT, clock: env.clock })),
  },
  {
    name: '(b) retry ×3 + budget',
    build: (env) =>
      pipeline(
        retry({ ...retryOptions(env), budget: retryBudget({ clock: env.clock }) }),
        timeout({ ms: ATTEMPT_TIMEOUT, clock: env.clock }),
      ),
  },
  {
    // Hook for adaptive concurrency (issue 4, built separately): the row runs
    // as soon as `adaptiveConcurrency` is exported; tune its options here.
    name: '(c) retry ×3 + budget + adaptive concurrency',
    build: (env) => {
      const factory = (bulwark as Record<string, unknown>).adaptiveConcurrency as
        | ((options: object) => Policy)
        | undefined;
      if (factory === undefined) return undefined;
      return pipeline(
        retry({ ...retryOptions(env), budget: retryBudget({ clock: env.clock }) }),
        factory({ algorithm: 'gradient', clock: env.clock }) as never,
        timeout({ ms: ATTEMPT_TIMEOUT, clock: env.clock }),
      );
    },
  },
  {
    name: '(d) hedge p95',
    build: ({ clock }) =>
      pipeline(hedge({ delay: 'p95', fallbackDelay: 100, clock }), timeout({ ms: ATTEMPT_TIMEOUT, clock })),
  },
  {
    name: '(d) hedge p95 + budget',
    build: ({ clock }) =>
      pipeline(
        hedge({ delay: 'p95', fallbackDelay: 100, budget: retryBudget({ clock }), clock }),
        timeout({ ms: ATTEMPT_TIMEOUT, clock }),
      ),
  },
];

interface Scenario {
  readonly name: string;
  readonly description: string;
  /** Calls per second, Poisson arrivals. */
  readonly rate: number;
  /** Run length in ms (virtual). */
  readonly duration: number;
  readonly dependency: DependencySpec;
}

const S = 1_000;
const between = (now: number, from: number, to: number) => now >= from && now < to;

export const scenarios: Scenario[] = [
  {
    name: 'hard outage',
    description:
      '200 calls/s for 30 s; the dependency refuses every connection (in 1 ms) from 10 s to 20 s; ' +
      '50 workers, service time log-normal (median 20 ms).',
    rate: 200,
    duration: 30 * S,
    dependency: {
      workers: 50,
      queue: 100,
      serviceTime: (_now, random) => logNormal(random, 20, 0.3),
      failureRate: () => 0,
      down: (now) => between(now, 10 * S, 20 * S),
    },
  },
  {
    name: 'brownout (slow)',
    description:
      '300 calls/s for 30 s against 10 workers (capacity ≈ 470 calls/s, service median 20 ms, ' +
      'queue 1 000); from 10 s to 15 s service is 2.5× slower (capacity ≈ 190 calls/s). ' +
      'Abandoned requests are still served (the server cannot tell), so work past capacity is wasted.',
    rate: 300,
    duration: 30 * S,
    dependency: {
      workers: 10,
      queue: 1_000,
      serviceTime: (now, random) => logNormal(random, between(now, 10 * S, 15 * S) ? 50 : 20, 0.3),
      failureRate: () => 0,
      down: () => false,
    },
  },
  {
    name: 'brownout (errors)',
    description:
      'The same dependency at full speed, but from 10 s to 15 s half of the requests fail with a 503 ' +
      'after being served: failures that cost capacity.',
    rate: 300,
    duration: 30 * S,
    dependency: {
      workers: 10,
      queue: 1_000,
      serviceTime: (_now, random) => logNormal(random, 20, 0.3),
      failureRate: (now) => (between(now, 10 * S, 15 * S) ? 0.5 : 0),
      down: () => false,
    },
  },
  {
    name: 'long tail',
    description:
      '200 calls/s for 30 s, no failures and no queueing; 97 % of requests take ≈ 20 ms ' +
      '(log-normal), 3 % are stragglers at ≈ 400 ms (log-normal, σ 0.5), independently per request.',
    rate: 200,
    duration: 30 * S,
    dependency: {
      workers: 100_000,
      queue: 0,
      serviceTime: (_now, random) =>
        random() < 0.03 ? logNormal(random, 400, 0.5) : logNormal(random, 20, 0.25),
      failureRate: () => 0,
      down: () => false,
    },
  },
];

export interface Result {
  readonly configuration: string;
  readonly calls: number;
  /** Requests that reached the dependency. */
  readonly arrivals: number;
  readonly ok: number;
  /** Successful calls per second over the run. */
  readonly goodput: number;
  /** Successful calls per second over the last third of the run (recovery). */
  readonly goodputEnd: number;
  readonly p50: number;
  readonly p99: number;
  /** Requests the dependency served for clients that had already given up. */
  readonly wasted: number;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

/** Runs one configuration through one scenario; undefined when the configuration is not available. */
export async function run(scenario: Scenario, configuration: Configuration, seed: number) {
  const clock = new VirtualClock();
  const policy = configuration.build({ clock, random: mulberry32(seed + 3) });
  if (policy === undefined) return undefined;
  const dependency = new SimulatedDependency(clock, mulberry32(seed + 1), scenario.dependency);
  const arrivals = mulberry32(seed);
  const latencies: number[] = [];
  let calls = 0;
  let ok = 0;
  let okEnd = 0;
  const endWindow = (scenario.duration * 2) / 3;
  const arrive = () => {
    const start = clock.now();
    if (start >= scenario.duration) return;
    calls += 1;
    policy.execute(dependency.call).then(
      () => {
        const end = clock.now();
        latencies.push(end - start);
        ok += 1;
        if (start >= endWindow) okEnd += 1;
      },
      () => latencies.push(clock.now() - start),
    );
    clock.setTimeout(arrive, exponential(arrivals, S / scenario.rate));
  };
  clock.setTimeout(arrive, exponential(arrivals, S / scenario.rate));
  await clock.advance(scenario.duration);
  // Let calls in flight finish (every attempt is bounded by its timeout).
  await clock.runAll(1_000_000);
  latencies.sort((a, b) => a - b);
  return {
    configuration: configuration.name,
    calls,
    arrivals: dependency.arrivals,
    ok,
    goodput: ok / (scenario.duration / S),
    goodputEnd: okEnd / ((scenario.duration - endWindow) / S),
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    wasted: dependency.wasted,
  } satisfies Result;
}

const int = (n: number) => Math.round(n).toLocaleString('en-US').replace(/,/g, ' ');

export function render(scenario: Scenario, rows: readonly (Result | { configuration: string })[]): string {
  const headers = [
    'configuration',
    'calls reaching dependency',
    '× calls',
    'success',
    'goodput (ok/s)',
    'goodput, last 10 s',
    'p50 (ms)',
    'p99 (ms)',
    'wasted',
  ];
  const body = rows.map((r) =>
    'calls' in r
      ? [
          r.configuration,
          int(r.arrivals),
          `${(r.arrivals / r.calls).toFixed(2)}×`,
          `${((100 * r.ok) / r.calls).toFixed(1)} %`,
          r.goodput.toFixed(1),
          r.goodputEnd.toFixed(1),
          int(r.p50),
          int(r.p99),
          int(r.wasted),
        ]
      : [r.configuration, 'n/a (not built yet)', '', '', '', '', '', '', ''],
  );
  return `### ${scenario.name}\n\n${scenario.description}\n\n${table(headers, body)}\n`;
}

async function main(): Promise<void> {
  const seed = Number(process.env.SEED ?? 20_240_601);
  const only = process.argv[2];
  const chosen = only === undefined ? scenarios : scenarios.filter((s) => s.name.startsWith(only));
  if (chosen.length === 0) throw new Error(`no scenario named ${only}`);
  console.log(
    `Virtual time, seed ${seed}; each attempt has a ${ATTEMPT_TIMEOUT} ms cooperative timeout; ` +
      'retry: 3 attempts, exponential backoff from 20 ms (full jitter); budget: retryBudget() defaults ' +
      '(20 % + 10/s over 10 s); hedge: 1 extra attempt after the p95 of recent latency (100 ms until 20 samples).\n',
  );
  for (const scenario of chosen) {
    const rows: (Result | { configuration: string })[] = [];
    for (const configuration of configurations) {
      rows.push((await run(scenario, configuration, seed)) ?? { configuration: configuration.name });
    }
    console.log(render(scenario, rows));
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await main();
}
