/**
 * The incidents every library faces, on one simulated dependency (see
 * docs/benchmarks.md, "Fault outcomes against the peers"). Times are virtual
 * ms from the start of a run.
 */
import type { DependencySpec } from '../../lib/dependency.js';
import { logNormal } from '../../lib/random.js';

/** Workers of the healthy dependency. */
export const WORKERS = 40;
/** Requests that may wait for a worker; past it, requests are refused at once with a 503. */
export const QUEUE = 500;
/** Median service time of a healthy request, ms (log-normal). */
export const SERVICE_MEDIAN = 20;
/** Spread (σ) of the log-normal service time. */
export const SERVICE_SIGMA = 0.4;
/** Each user request is given up by its caller after this many ms (the user's deadline). */
export const DEADLINE = 2_000;
/** Requests per second each client sends (Poisson arrivals, open loop). */
export const RATE_PER_CLIENT = 200;

/** Lengths of a run's phases, ms. */
export interface Timing {
  /** Healthy lead-in: breakers and limits settle on a healthy dependency. */
  readonly warmup: number;
  /** The incident itself. */
  readonly bad: number;
  /** Healthy again: how fast does each library get back to full service? */
  readonly after: number;
}

/** The documented run: a 60-s incident. */
export const FULL: Timing = { warmup: 10_000, bad: 60_000, after: 20_000 };
/** `--quick`: a 15-s incident (used by the test suite's regression guard). */
export const QUICK: Timing = { warmup: 5_000, bad: 15_000, after: 10_000 };

/** One incident, with everything needed to run it. */
export interface FaultScenario {
  /** Identifier, used by `--scenario` and in file names. */
  readonly name: string;
  /** Heading in the report. */
  readonly title: string;
  /** What happens, for the docs. */
  readonly description: string;
  /** Independent clients, each with its own policies, all calling the one dependency. */
  readonly clients: number;
  /** Requests per second per client. */
  readonly rate: number;
  /** Run length, ms. */
  readonly duration: number;
  /** The incident: metrics are taken over requests that arrive in [from, to). */
  readonly bad: { readonly from: number; readonly to: number };
  /** When the dependency is fully healthy again (recovery is measured from here). */
  readonly healedAt: number;
  readonly dependency: DependencySpec;
}

const healthyService = (random: () => number): number => logNormal(random, SERVICE_MEDIAN, SERVICE_SIGMA);

/** Healthy dependency with the given overrides. */
function dependency(overrides: Partial<DependencySpec>): DependencySpec {
  return {
    workers: WORKERS,
    queue: QUEUE,
    serviceTime: (_now, random) => healthyService(random),
    failureRate: () => 0,
    // A failing request answers 500; only a full queue answers 503 ("overloaded").
    failureStatus: 500,
    down: () => false,
    ...overrides,
  };
}

/** Builds the five scenarios for the given phase lengths. */
export function faultScenarios(timing: Timing = FULL): FaultScenario[] {
  const from = timing.warmup;
  const to = timing.warmup + timing.bad;
  const duration = to + timing.after;
  const inBad = (now: number) => now >= from && now < to;
  const common = { duration, bad: { from, to }, healedAt: to };
  const secs = (ms: number) => `${ms / 1000} s`;
  return [
    {
      name: 'hard-outage',
      title: 'Hard outage',
      description:
        `Every request fails (a 500 after its normal service time) for ${secs(timing.bad)}. ` +
        `One client, ${RATE_PER_CLIENT} requests/s.`,
      clients: 1,
      rate: RATE_PER_CLIENT,
      ...common,
      dependency: dependency({ failureRate: (now) => (inBad(now) ? 1 : 0) }),
    },
    {
      name: 'brownout',
      title: 'Brownout',
      description:
        `For ${secs(timing.bad)}, 30 % of requests fail (a 500 after their service time) and every ` +
        'request takes 5× longer (median 100 ms, holding its worker: capacity falls to ≈ 370 requests/s, ' +
        `still above the offered ${RATE_PER_CLIENT}/s). One client.`,
      clients: 1,
      rate: RATE_PER_CLIENT,
      ...common,
      dependency: dependency({
        failureRate: (now) => (inBad(now) ? 0.3 : 0),
        serviceTime: (now, random) => healthyService(random) * (inBad(now) ? 5 : 1),
      }),
    },
    {
      name: 'latency-spike',
      title: 'Latency spike (long tail)',
      description:
        `For ${secs(timing.bad)}, 5 % of requests are stragglers taking ≈ 1 s (log-normal, median 1 000 ms, ` +
        'σ 0.5; some exceed the 2-s deadline); the rest are served as usual. One client.',
      clients: 1,
      rate: RATE_PER_CLIENT,
      ...common,
      dependency: dependency({
        serviceTime: (now, random) =>
          inBad(now) && random() < 0.05 ? logNormal(random, 1_000, 0.5) : healthyService(random),
      }),
    },
    {
      name: 'slow-recovery',
      title: 'Slow recovery',
      description:
        `Five clients (${5 * RATE_PER_CLIENT} requests/s in all, 54 % of the healthy capacity). The ` +
        `dependency refuses every connection for ${secs(timing.bad / 3)}, then its workers come back one ` +
        `at a time, evenly over ${secs((2 * timing.bad) / 3)} (capacity grows from 2.5 % to 100 %).`,
      clients: 5,
      rate: RATE_PER_CLIENT,
      ...common,
      dependency: dependency({
        down: (now) => now >= from && now < from + timing.bad / 3,
        workers: (now) => {
          const rampFrom = from + timing.bad / 3;
          if (now < rampFrom || now >= to) return WORKERS;
          return Math.max(1, Math.ceil((WORKERS * (now - rampFrom)) / (to - rampFrom)));
        },
      }),
    },
    {
      name: 'retry-storm',
      title: 'Retry storm',
      description:
        `Five clients (${5 * RATE_PER_CLIENT} requests/s in all) and one recovering server whose ` +
        `capacity is cut to 20 % (${WORKERS / 5} of ${WORKERS} workers, ≈ 370 requests/s) for ` +
        `${secs(timing.bad)}: every extra call queues behind the others.`,
      clients: 5,
      rate: RATE_PER_CLIENT,
      ...common,
      dependency: dependency({ workers: (now) => (inBad(now) ? WORKERS / 5 : WORKERS) }),
    },
  ];
}
