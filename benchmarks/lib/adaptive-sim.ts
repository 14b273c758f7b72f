/**
 * A closed-loop load on a dependency of known capacity, in virtual time, to
 * watch an adaptive concurrency limit find that capacity. Shared by
 * benchmarks/scenarios/adaptive-curve.ts and test/adaptive/convergence.test.ts.
 */
import {
  type AdaptiveConcurrencyOptions,
  type AdaptiveConcurrencyPolicy,
  adaptiveConcurrency,
  BulkheadFullError,
} from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';
import { mulberry32, type Random } from './random.js';

/**
 * A dependency with `capacity()` workers and an unbounded FIFO queue: up to
 * capacity, a request takes its service time; past it, it also waits for a
 * worker, so latency grows with the load. Capacity is read at every dispatch,
 * so it can change during a run.
 */
export class CapacityServer {
  /** Requests served. */
  served = 0;
  private busy = 0;
  private readonly waiting: (() => void)[] = [];
  private head = 0;

  constructor(
    private readonly clock: VirtualClock,
    private readonly capacity: () => number,
    private readonly serviceTime: () => number,
  ) {}

  /** One request: resolves when served. */
  readonly call = (): Promise<void> =>
    new Promise<void>((resolve) => {
      this.waiting.push(resolve);
      this.dispatch();
    });

  private dispatch(): void {
    while (this.busy < this.capacity() && this.head < this.waiting.length) {
      const resolve = this.waiting[this.head]!;
      this.waiting[this.head++] = undefined as never;
      if (this.head > 1024 && this.head * 2 > this.waiting.length) {
        this.waiting.splice(0, this.head);
        this.head = 0;
      }
      this.busy += 1;
      this.clock.setTimeout(() => {
        this.busy -= 1;
        this.served += 1;
        resolve();
        this.dispatch();
      }, this.serviceTime());
    }
  }
}

/** Service times spread uniformly by ± `jitter` around `base`. */
export function uniformServiceTime(random: Random, base: number, jitter: number): () => number {
  return () => base * (1 + jitter * (2 * random() - 1));
}

/** One stretch of time at a given capacity. */
export interface CapacityPhase {
  /** Length of the phase, in ms. */
  readonly ms: number;
  /** Workers the dependency has: past that, requests queue and latency rises. */
  readonly capacity: number;
}

export interface AdaptiveSimOptions {
  /** The limit under test (`clock` is supplied). */
  readonly policy: Omit<AdaptiveConcurrencyOptions, 'clock'>;
  /** Capacity over time. */
  readonly phases: readonly CapacityPhase[];
  /** Service time of one request with a free worker, in ms. Default 10. */
  readonly baseLatency?: number;
  /** Service times vary uniformly by ± this fraction. Default 0.3. */
  readonly jitter?: number;
  /** Clients, each sending its next request as soon as the last one settled. Default 2 × the largest capacity. */
  readonly clients?: number;
  /** A rejected client tries again after this many ms. Default 2 × baseLatency. */
  readonly retryDelay?: number;
  /** The limit is recorded every this many ms. Default 100. */
  readonly sampleEvery?: number;
  readonly seed?: number;
}

/** The limit at one moment. */
export interface LimitSample {
  /** Virtual time, ms. */
  readonly t: number;
  readonly limit: number;
  /** The capacity at that moment. */
  readonly capacity: number;
  /** Whether the gradient algorithm was probing its baseline (the limit is then halved on purpose). */
  readonly probing: boolean;
}

export interface AdaptiveSimResult {
  /** The limit every `sampleEvery` ms. */
  readonly samples: readonly LimitSample[];
  /** Requests served. */
  readonly completed: number;
  /** Calls the limit rejected. */
  readonly rejected: number;
  /** Requests the dependency could have served in the same time (capacity × time / base latency). */
  readonly ideal: number;
  /** Mean latency of the served requests, in ms. */
  readonly meanLatency: number;
}

/** Runs the load to the end of the last phase and reports the limit over time. */
export async function runAdaptiveSim(options: AdaptiveSimOptions): Promise<AdaptiveSimResult> {
  const clock = new VirtualClock({ settleRounds: 12 });
  const random = mulberry32(options.seed ?? 1);
  const base = options.baseLatency ?? 10;
  const jitter = options.jitter ?? 0.3;
  const phases = options.phases;
  const end = phases.reduce((sum, phase) => sum + phase.ms, 0);
  const capacityAt = (now: number): number => {
    let t = 0;
    for (const phase of phases) {
      t += phase.ms;
      if (now < t) return phase.capacity;
    }
    return phases[phases.length - 1]!.capacity;
  };
  const server = new CapacityServer(
    clock,
    () => capacityAt(clock.now()),
    uniformServiceTime(random, base, jitter),
  );
  const policy: AdaptiveConcurrencyPolicy = adaptiveConcurrency({ ...options.policy, clock });
  const clients = options.clients ?? 2 * Math.max(...phases.map((phase) => phase.capacity));
  const retryDelay = options.retryDelay ?? 2 * base;
  let completed = 0;
  let rejected = 0;
  let latencySum = 0;
  const wait = (ms: number) => new Promise<void>((resolve) => clock.setTimeout(resolve, ms));
  const client = async (): Promise<void> => {
    // Start spread over one service time, as real clients would.
    await wait(random() * base);
    while (clock.now() < end) {
      const started = clock.now();
      try {
        await policy.execute(server.call);
        completed += 1;
        latencySum += clock.now() - started;
      } catch (error) {
        if (!(error instanceof BulkheadFullError)) throw error;
        rejected += 1;
        await wait(retryDelay);
      }
    }
  };
  const samples: LimitSample[] = [];
  const sampleEvery = options.sampleEvery ?? 100;
  const sample = (): void => {
    const now = clock.now();
    const probing = policy._health().probing === true;
    samples.push({ t: now, limit: policy.limit, capacity: capacityAt(now), probing });
    if (clock.now() + sampleEvery <= end) clock.setTimeout(sample, sampleEvery);
  };
  sample();
  const running = Promise.all(Array.from({ length: clients }, client));
  await clock.runAll(Number.MAX_SAFE_INTEGER);
  await running;
  let ideal = 0;
  for (const phase of phases) ideal += (phase.capacity * phase.ms) / base;
  return {
    samples,
    completed,
    rejected,
    ideal: Math.round(ideal),
    meanLatency: completed > 0 ? latencySum / completed : 0,
  };
}
