/**
 * The libraries under test, each configured as close to the recommended
 * bulwark configuration as it allows (docs/benchmarks.md lists what each
 * one lacks). Every client is built after virtual time is installed, so
 * timers, `Date.now`, `performance.now` and `Math.random` are simulated.
 */
import {
  BrokenCircuitError,
  BulkheadRejectedError,
  bulkhead as cockatielBulkhead,
  circuitBreaker as cockatielBreaker,
  ExponentialBackoff,
  halfJitterGenerator,
  handleWhen,
  IsolatedCircuitError,
  retry as cockatielRetry,
  SamplingBreaker,
  TaskCancelledError,
  TimeoutStrategy,
  timeout as cockatielTimeout,
  wrap,
} from 'cockatiel';
import CircuitBreaker from 'opossum';
import pRetry from 'p-retry';
import { recommendedPipeline } from './recommended.js';

/** One attempt at the dependency; pass the signal that should cancel it. */
export type Attempt = (signal: AbortSignal | undefined) => Promise<string>;

/** One client process calling the dependency through a library. */
export interface Client {
  /**
   * Runs one user request. `deadline` aborts at the user's deadline; a
   * library that takes a signal gets it, the others only see the attempt
   * cancelled (the caller stops waiting at the deadline either way).
   */
  call(attempt: Attempt, deadline: AbortSignal): Promise<unknown>;
  /** Releases timers the library holds (opossum's intervals). */
  dispose(): void;
}

/** A library and how it is configured. */
export interface Contender {
  /** Row label. */
  readonly name: string;
  /** Whether this is bulwark (the row the targets apply to). */
  readonly bulwark?: boolean;
  /** Whether this is a peer library (the naked client is not). */
  readonly peer: boolean;
  /** The configuration, in one line of markdown, for the docs. */
  readonly config: string;
  /** A fresh client: its own policies, breakers and limits. */
  create(): Client;
}

/**
 * The settings every library shares, where it has the feature. They are the
 * recommended bulwark configuration's (recommended.ts).
 */
export const SHARED = {
  /** Attempts per request, the first included. */
  maxAttempts: 4,
  /** Exponential backoff: 100 ms doubling, capped at 1 s, with "equal" jitter (a delay in [d/2, d]). */
  backoffInitial: 100,
  backoffMax: 1_000,
  /** Per-attempt timeout, ms. */
  attemptTimeout: 500,
  /** Breaker: opens at this failure share over a 10-s window, once 20 calls were seen. */
  failureRate: 0.5,
  minimumCalls: 20,
  breakerWindow: 5_000,
  /** Breaker: how long it stays open before probing, ms. */
  openFor: 1_000,
  /** Concurrency cap per client (bulwark: adaptive limit's maximum; peers: a fixed bulkhead). */
  concurrency: 50,
  /** Calls that may wait for a slot (bulwark: for ≤ 100 ms; cockatiel: no time limit; opossum: none). */
  queue: 20,
} as const;

const naked: Contender = {
  name: 'no policy',
  peer: false,
  config: 'the attempt alone; the caller gives up at the deadline',
  create: () => ({
    call: (attempt, deadline) => attempt(deadline),
    dispose() {},
  }),
};

const bulwark: Contender = {
  name: 'bulwark',
  bulwark: true,
  peer: false,
  config:
    'the recommended configuration ([recommended-config.md](./recommended-config.md)): ' +
    '`retry` (4 attempts, exponential 100 ms–1 s, equal jitter, `retryBudget` 20 % + 10/s) › ' +
    '`circuitBreaker` (20 failures in a row, or 50 % over 5 s with ≥ 20 calls; open 1 s; 1 probe) › ' +
    '`adaptiveConcurrency` (AIMD from 20, ≤ 50, a success over 300 ms counts as overload, ' +
    'queue 20 for ≤ 100 ms) › `timeout(500)`; the deadline is `execute`’s signal',
  create() {
    const policy = recommendedPipeline();
    return {
      call: (attempt, deadline) => policy.execute((ctx) => attempt(ctx.signal), { signal: deadline }),
      dispose() {},
    };
  },
};

/** cockatiel retries every error by default; like bulwark, do not retry the library's own refusals. */
const cockatielRetryable = (error: Error): boolean =>
  !(
    error instanceof BrokenCircuitError ||
    error instanceof IsolatedCircuitError ||
    error instanceof BulkheadRejectedError ||
    error instanceof TaskCancelledError
  );

const cockatiel: Contender = {
  name: 'cockatiel 3.2',
  peer: true,
  config:
    '`wrap(retry, circuitBreaker, bulkhead, timeout)`: retry `maxAttempts: 3` (= 4 attempts), ' +
    '`ExponentialBackoff` 100 ms–1 s with `halfJitterGenerator`, not retrying its own refusals; ' +
    `\`SamplingBreaker\` 50 % over ${SHARED.breakerWindow / 1000} s, ` +
    `\`minimumRps: ${SHARED.minimumCalls / (SHARED.breakerWindow / 1000)}\` ` +
    `(${SHARED.minimumCalls} calls / ${SHARED.breakerWindow / 1000} s), \`halfOpenAfter: 1000\` ` +
    '(one probe; other calls wait for it); `bulkhead(50, 20)`; cooperative `timeout(500)`; ' +
    'the deadline is `execute`’s signal. No retry budget, no adaptive limit, and a breaker ' +
    'is either rate-based or consecutive-failure-based, not both',
  create() {
    const handle = handleWhen(cockatielRetryable);
    const policy = wrap(
      cockatielRetry(handle, {
        maxAttempts: SHARED.maxAttempts - 1,
        backoff: new ExponentialBackoff({
          initialDelay: SHARED.backoffInitial,
          maxDelay: SHARED.backoffMax,
          generator: halfJitterGenerator,
        }),
      }),
      cockatielBreaker(handle, {
        halfOpenAfter: SHARED.openFor,
        breaker: new SamplingBreaker({
          threshold: SHARED.failureRate,
          duration: SHARED.breakerWindow,
          minimumRps: SHARED.minimumCalls / (SHARED.breakerWindow / 1000),
        }),
      }),
      cockatielBulkhead(SHARED.concurrency, SHARED.queue),
      cockatielTimeout(SHARED.attemptTimeout, TimeoutStrategy.Cooperative),
    );
    return {
      call: (attempt, deadline) => policy.execute(({ signal }) => attempt(signal), deadline),
      dispose() {},
    };
  },
};

/** The options opossum gets, as close to the shared settings as its options go. */
const opossumOptions = {
  timeout: SHARED.attemptTimeout,
  errorThresholdPercentage: SHARED.failureRate * 100,
  volumeThreshold: SHARED.minimumCalls,
  rollingCountTimeout: SHARED.breakerWindow,
  rollingCountBuckets: 10,
  resetTimeout: SHARED.openFor,
  capacity: SHARED.concurrency,
  // Statistics the breaker's decisions never read; computing them on every
  // call only slows the simulation down.
  rollingPercentilesEnabled: false,
  enableSnapshots: false,
};

type OpossumAction = (attempt: Attempt, signal: AbortSignal) => Promise<string>;

function newOpossum(): CircuitBreaker<Parameters<OpossumAction>, string> {
  // opossum cannot pass a per-call signal to the action (its `abortController`
  // option is one controller for every call in flight), so the action gets the
  // user's deadline signal; opossum's timeout rejects at once and leaves the
  // attempt running, as it does in production.
  return new CircuitBreaker<Parameters<OpossumAction>, string>(
    (attempt, signal) => attempt(signal),
    opossumOptions,
  );
}

const opossum: Contender = {
  name: 'opossum 9',
  peer: true,
  config:
    '`timeout: 500`, `errorThresholdPercentage: 50`, `volumeThreshold: 20`, ' +
    `\`rollingCountTimeout: ${SHARED.breakerWindow}\`, \`resetTimeout: 1000\` (one probe), \`capacity: 50\` ` +
    '(no queue); `rollingPercentilesEnabled` and `enableSnapshots` off (statistics the breaker never ' +
    'reads; they only cost time). No retry; ' +
    'no per-call signal (the attempt gets the deadline signal through the action’s arguments)',
  create() {
    const breaker = newOpossum();
    return {
      call: (attempt, deadline) => breaker.fire(attempt, deadline),
      dispose: () => breaker.shutdown(),
    };
  },
};

/** p-retry's options for 4 attempts with the shared backoff: `randomize` draws in [d, 2d], so d is halved. */
const pRetryOptions = {
  retries: SHARED.maxAttempts - 1,
  factor: 2,
  minTimeout: SHARED.backoffInitial / 2,
  maxTimeout: SHARED.backoffMax,
  randomize: true,
};

const pRetryContender: Contender = {
  name: 'p-retry 7',
  peer: true,
  config:
    '`retries: 3` (= 4 attempts), `minTimeout: 50`, `factor: 2`, `maxTimeout: 1000`, `randomize: true` ' +
    '(delays in [d, 2d]: the same ranges as 100 ms with equal jitter), `signal`: the deadline. ' +
    'No timeout, breaker, budget or concurrency limit',
  create: () => ({
    call: (attempt, deadline) => pRetry(() => attempt(deadline), { ...pRetryOptions, signal: deadline }),
    dispose() {},
  }),
};

/** opossum's own refusals (open breaker, capacity full): like bulwark, do not retry them. */
const isOpossumRefusal = (error: unknown): boolean => {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'EOPENBREAKER' || code === 'ESEMLOCKED';
};

const pRetryOpossum: Contender = {
  name: 'p-retry 7 + opossum 9',
  peer: true,
  config:
    'p-retry as above around opossum as above (the usual pairing: opossum has no retry); ' +
    'p-retry does not retry opossum’s own refusals (open breaker, capacity full)',
  create() {
    const breaker = newOpossum();
    return {
      call: (attempt, deadline) =>
        pRetry(() => breaker.fire(attempt, deadline), {
          ...pRetryOptions,
          signal: deadline,
          shouldRetry: ({ error }) => !isOpossumRefusal(error),
        }),
      dispose: () => breaker.shutdown(),
    };
  },
};

/** Every contender, in table order (bulwark last). */
export const contenders: readonly Contender[] = [
  naked,
  pRetryContender,
  opossum,
  pRetryOpossum,
  cockatiel,
  bulwark,
];
