/**
 * Runs one scenario for one library in virtual time: open-loop Poisson
 * arrivals per client, a user deadline per request, and a log of what every
 * request saw. Deterministic for a seed.
 */
import { SimulatedDependency } from '../../lib/dependency.js';
import { exponential, mulberry32, type Random } from '../../lib/random.js';
import { type Drain, installVirtualTime } from '../../lib/virtual-time.js';
import type { Attempt, Client, Contender } from './contenders.js';
import { DEADLINE, type FaultScenario } from './scenarios.js';

/** The reason a request's deadline signal aborts with. */
export class DeadlineExceeded extends Error {
  constructor() {
    super(`the user's ${DEADLINE} ms deadline passed`);
    this.name = 'DeadlineExceeded';
  }
}

/** What happened to every request of one run, in arrival order. */
export interface RunLog {
  readonly scenario: string;
  readonly contender: string;
  readonly seed: number;
  /** Requests sent. */
  readonly count: number;
  /** Arrival time of each request, virtual ms. */
  readonly arrival: Float64Array;
  /** When the caller got an answer (or gave up at the deadline). */
  readonly end: Float64Array;
  /** 1 when the request succeeded within the deadline. */
  readonly ok: Uint8Array;
  /** Calls that reached the dependency on behalf of each request (refused ones included). */
  readonly calls: Uint16Array;
  /** Calls that reached the dependency per second of the run. */
  readonly callsPerSecond: Uint32Array;
  /** Attempts the library started after their request's deadline had passed (sent or not). */
  readonly lateCalls: number;
  /** The dependency's own counters. */
  readonly dependency: {
    readonly arrivals: number;
    readonly served: number;
    readonly refused: number;
    /** Requests served for a client that had already given up. */
    readonly wasted: number;
    readonly maxQueued: number;
  };
  /** Timer callbacks that threw, and promise rejections nobody handled, during the run. */
  readonly faults: number;
}

export interface RunOptions {
  readonly seed: number;
  /** How promise reactions are flushed between timers (see virtual-time.ts). */
  readonly drain?: Drain;
}

/** Independent, reproducible random streams: one per purpose, so the workload is the same for every library. */
function stream(seed: number, purpose: number): Random {
  return mulberry32((Math.imul(seed, 0x9e3779b1) ^ Math.imul(purpose + 1, 0x85ebca6b)) >>> 0);
}

/** Arrival times (ms, rounded to the clock's 1-ms resolution) of a Poisson process over [0, duration). */
function arrivals(random: Random, rate: number, duration: number): number[] {
  const times: number[] = [];
  const mean = 1_000 / rate;
  for (let t = exponential(random, mean); t < duration; t += exponential(random, mean)) {
    times.push(Math.round(t));
  }
  return times;
}

/** Runs `scenario` through `contender` and logs every request. */
export async function simulate(
  scenario: FaultScenario,
  contender: Contender,
  options: RunOptions,
): Promise<RunLog> {
  const { seed } = options;
  // The workload depends on the seed only, never on the library.
  const schedules: number[][] = [];
  for (let c = 0; c < scenario.clients; c++) {
    schedules.push(arrivals(stream(seed, 10 + c), scenario.rate, scenario.duration));
  }
  const total = schedules.reduce((sum, times) => sum + times.length, 0);
  const arrival = new Float64Array(total);
  const end = new Float64Array(total).fill(Number.NaN);
  const ok = new Uint8Array(total);
  const calls = new Uint16Array(total);
  const callsPerSecond = new Uint32Array(Math.ceil((scenario.duration + DEADLINE) / 1_000) + 1);
  let count = 0;
  let lateCalls = 0;
  let faults = 0;
  const onUnhandled = () => {
    faults += 1;
  };
  const vt = installVirtualTime({ random: stream(seed, 1), drain: options.drain ?? 'tick' });
  const clients: Client[] = [];
  process.on('unhandledRejection', onUnhandled);
  // Every library builds errors by the thousand here; nobody reads their
  // stack traces, and capturing them only slows the simulation down.
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    const clock = { now: () => vt.now(), setTimeout: (cb: () => void, ms: number) => setTimeout(cb, ms) };
    const dependency = new SimulatedDependency(clock, stream(seed, 2), scenario.dependency);
    for (let c = 0; c < scenario.clients; c++) clients.push(contender.create());

    const request = (client: Client): void => {
      const i = count++;
      const started = vt.now();
      arrival[i] = started;
      const deadline = new AbortController();
      let settled = false;
      const finish = (success: boolean): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        end[i] = vt.now();
        ok[i] = success ? 1 : 0;
      };
      // The caller gives up at the deadline whatever the library does.
      const timer = setTimeout(() => {
        deadline.abort(new DeadlineExceeded());
        finish(false);
      }, DEADLINE);
      const attempt: Attempt = (signal) => {
        // Started by the library after the caller gave up (reaching the dependency or not).
        if (deadline.signal.aborted) lateCalls += 1;
        const before = dependency.arrivals;
        const answer = dependency.call({ signal });
        // A request whose signal is already aborted is never sent (as with fetch).
        if (dependency.arrivals !== before) {
          calls[i]! += 1;
          callsPerSecond[Math.floor(vt.now() / 1_000)]! += 1;
        }
        return answer;
      };
      let pending: Promise<unknown>;
      try {
        pending = client.call(attempt, deadline.signal);
      } catch (error) {
        pending = Promise.reject(error);
      }
      pending.then(
        () => finish(true),
        () => finish(false),
      );
    };

    // One timer chain per client: each firing starts the requests due by now.
    for (let c = 0; c < scenario.clients; c++) {
      const times = schedules[c]!;
      const client = clients[c]!;
      let next = 0;
      const arrive = (): void => {
        const now = vt.now();
        while (next < times.length && times[next]! <= now) {
          next += 1;
          request(client);
        }
        if (next < times.length) setTimeout(arrive, times[next]! - now);
      };
      if (times.length > 0) setTimeout(arrive, times[0]!);
    }
    // Every request gets its answer (or its deadline) before the run ends.
    await vt.advanceTo(scenario.duration + DEADLINE + 1);
    faults += vt.errors.length;
    return {
      scenario: scenario.name,
      contender: contender.name,
      seed,
      count,
      arrival: arrival.subarray(0, count),
      end: end.subarray(0, count),
      ok: ok.subarray(0, count),
      calls: calls.subarray(0, count),
      callsPerSecond,
      lateCalls,
      dependency: {
        arrivals: dependency.arrivals,
        served: dependency.served,
        refused: dependency.refused,
        wasted: dependency.wasted,
        maxQueued: dependency.maxQueued,
      },
      faults,
    };
  } finally {
    for (const client of clients) client.dispose();
    vt.uninstall();
    Error.stackTraceLimit = stackTraceLimit;
    process.off('unhandledRejection', onUnhandled);
  }
}
