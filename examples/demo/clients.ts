import {
  backoff,
  bulkhead,
  circuitBreaker,
  fallback,
  pipeline,
  retry,
  retryBudget,
  timeout,
  type CircuitBreakerPolicy,
} from '../../src/index.js';

/** What one client saw. */
export interface ClientStats {
  readonly name: string;
  /** Calls started. */
  calls: number;
  /** Answered with data fresh from the service. */
  fresh: number;
  /** Answered with a substitute (the fallback), not an error. */
  substituted: number;
  /** Ended with an error. */
  failed: number;
  inFlight: number;
  /** Duration of every finished call, ms. */
  readonly latencies: number[];
}

/** Policy events the protected client counted. */
export interface EventCounts {
  retries: number;
  budgetRefusals: number;
  timeouts: number;
  fallbacks: number;
  breakerOpens: number;
  breakerRejections: number;
  bulkheadRejections: number;
}

export interface Client {
  readonly stats: ClientStats;
  /** Starts one call; never rejects (its outcome goes into `stats`). */
  call(): Promise<void>;
}

interface Stock {
  readonly stock: number | null;
  /** Which call fetched it: a fallback serves an older call's answer. */
  readonly fetchedBy: number;
}

class HttpError extends Error {
  constructor(readonly status: number) {
    super(`HTTP ${status}`);
  }
}

let nextCallId = 1;

/** One GET to the service, as any application would write it. */
async function getStock(url: string, client: string, callId: number, signal: AbortSignal): Promise<Stock> {
  const res = await fetch(url, { headers: { 'x-demo-client': client }, signal });
  if (!res.ok) {
    // Read the body anyway so the connection can be reused.
    await res.arrayBuffer();
    throw new HttpError(res.status);
  }
  const body = (await res.json()) as { stock: number };
  return { stock: body.stock, fetchedBy: callId };
}

function newStats(name: string): ClientStats {
  return { name, calls: 0, fresh: 0, substituted: 0, failed: 0, inFlight: 0, latencies: [] };
}

/** Runs one call and records how it ended. */
async function record(stats: ClientStats, run: (callId: number) => Promise<Stock>): Promise<void> {
  const callId = nextCallId++;
  const start = performance.now();
  stats.calls += 1;
  stats.inFlight += 1;
  try {
    const answer = await run(callId);
    if (answer.fetchedBy === callId) stats.fresh += 1;
    else stats.substituted += 1;
  } catch {
    stats.failed += 1;
  } finally {
    stats.inFlight -= 1;
    stats.latencies.push(performance.now() - start);
  }
}

/** Calls the service directly, with only the caller's deadline. */
export function nakedClient(url: string, deadlineMs: number): Client {
  const stats = newStats('naked');
  return {
    stats,
    call: () => record(stats, (callId) => getStock(url, stats.name, callId, AbortSignal.timeout(deadlineMs))),
  };
}

/** The protected client: the same call through a bulwark pipeline. */
export interface ProtectedClient extends Client {
  readonly breaker: CircuitBreakerPolicy;
  readonly events: EventCounts;
}

/**
 * The same call through a pipeline, outermost first:
 * - fallback: when everything below failed, serve the last good answer (≤ 60 s old);
 * - retry: up to 3 attempts with jittered exponential backoff, within a retry
 *   budget so that retries never add more than ~40 % load;
 * - circuitBreaker: stop calling a service when half the last 20 attempts
 *   failed; after a second, let 5 probes decide whether it is back;
 * - timeout: give each attempt 300 ms, then abort its fetch;
 * - bulkhead: at most 10 attempts in flight, 10 more waiting.
 */
export function protectedClient(url: string, deadlineMs: number): ProtectedClient {
  const stats = newStats('bulwark');
  const breaker = circuitBreaker({
    failureRate: 0.5,
    window: { type: 'count', size: 20 },
    minimumCalls: 10,
    openFor: 1_000,
    halfOpenCalls: 5,
  });
  const policy = pipeline(
    fallback({ lastKnownGood: { ttl: 60_000 } }),
    retry({
      maxAttempts: 3,
      backoff: backoff.exponential({ initial: 50, max: 400 }),
      budget: retryBudget({ ratio: 0.4, minPerSecond: 5 }),
    }),
    breaker,
    timeout(300),
    bulkhead({ limit: 10, queue: 10 }),
  );
  const events: EventCounts = {
    retries: 0,
    budgetRefusals: 0,
    timeouts: 0,
    fallbacks: 0,
    breakerOpens: 0,
    breakerRejections: 0,
    bulkheadRejections: 0,
  };
  policy.onEvent(({ policy: kind, event, data }) => {
    if (event === 'retry') events.retries += 1;
    else if (event === 'giveUp' && (data as { reason: string }).reason === 'budget')
      events.budgetRefusals += 1;
    else if (event === 'timeout') events.timeouts += 1;
    else if (event === 'fallback') events.fallbacks += 1;
    else if (kind === 'circuitBreaker' && event === 'open') events.breakerOpens += 1;
    else if (kind === 'circuitBreaker' && event === 'reject') events.breakerRejections += 1;
    else if (kind === 'bulkhead' && event === 'reject') events.bulkheadRejections += 1;
  });
  return {
    stats,
    breaker,
    events,
    call: () =>
      record(stats, (callId) =>
        policy.execute(({ signal }) => getStock(url, stats.name, callId, signal), {
          signal: AbortSignal.timeout(deadlineMs),
        }),
      ),
  };
}
