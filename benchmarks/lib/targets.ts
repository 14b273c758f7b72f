import type { BreakerHeap } from './breaker-heap.js';
import { BARE, BARE_REJECT, C5, O5, OPEN, P3, P5 } from './cases.js';
import type { Measured } from './measure.js';
import { count, ratio } from './table.js';
import type { TimerCheck } from './timers.js';

/** One target from issues 2 and 3, checked against this run. */
export interface Target {
  readonly what: string;
  readonly measured: string;
  readonly limit: string;
  readonly pass: boolean;
}

/** Checks the issues' targets; a target whose rows did not run is left out. */
export function checkTargets(
  get: (name: string) => Measured | undefined,
  heap: BreakerHeap | undefined,
  timers: TimerCheck,
): Target[] {
  const targets: Target[] = [];
  const atMost = (what: string, value: number | undefined, limit: number, show = ratio) => {
    if (value === undefined) return;
    targets.push({ what, measured: show(value), limit: `≤ ${show(limit)}`, pass: value <= limit });
  };
  const atLeast = (what: string, value: number | undefined, limit: number) => {
    if (value === undefined) return;
    targets.push({ what, measured: ratio(value), limit: `≥ ${ratio(limit)}`, pass: value >= limit });
  };
  const vsBare = (name: string) => get(name)?.ratio(BARE);
  const speedup = (ours: string, peer: string) =>
    get(ours) && get(peer) ? get(peer)!.ratio(ours) : undefined;

  for (const policy of ['retry', 'timeout', 'fallback', 'circuitBreaker', 'bulkhead', 'rateLimit']) {
    atMost(`bulwark ${policy} vs bare await`, vsBare(`bulwark ${policy}`), 2.5);
  }
  atMost('pipeline(fallback, retry, timeout) vs bare await', vsBare(P3), 3);
  atLeast('timeout: faster than cockatiel timeout by', speedup('bulwark timeout', 'cockatiel timeout'), 50);
  atMost('5-policy pipeline vs bare await', vsBare(P5), 3.5);
  atLeast('5-policy pipeline: faster than cockatiel wrap by', speedup(P5, C5), 50);
  atLeast('5-policy pipeline: faster than opossum fire() by', speedup(P5, O5), 3);
  atMost('open breaker rejection vs bare rejected await', get(OPEN)?.ratio(BARE_REJECT), 2);
  const bytes = (value: number) => `${Math.round(value)} B`;
  atMost('heap per idle keyed breaker (consecutiveFailures: 5)', heap?.keyed, 500, bytes);
  atMost('heap per idle keyed breaker (default options)', heap?.keyedDefaults, 500, bytes);
  // One shared deadline timer per policy, re-armed at most once per `ms` (1 s): never one per call.
  const { calls, ms, timers: started } = timers.timeout;
  const limit = Math.ceil(ms / 1000) + 1;
  targets.push({
    what: `timeout: setTimeout calls in ${count(calls)} calls`,
    measured: count(started),
    limit: `≤ ${limit}`,
    pass: started <= limit,
  });
  return targets;
}
