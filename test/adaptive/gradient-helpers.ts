// Shared by the gradient limit's tests: a limit with test-friendly defaults,
// and drivers for its windows and probes.
import { GradientLimit } from '../../src/adaptive/gradient.js';
import { Outcome } from '../../src/adaptive/limit.js';

export const make = (overrides: Partial<ConstructorParameters<typeof GradientLimit>[0]> = {}) =>
  new GradientLimit({
    initialLimit: 20,
    minLimit: 1,
    maxLimit: 200,
    tolerance: 1.25,
    smoothing: 1,
    ...overrides,
  });

/**
 * One window's worth of calls (`n`, default max(10, limit)), all `rtt` ms,
 * with `inflight` of ours running (default limit − 1: busy, limit not reached);
 * `bound` marks the limit reached first.
 */
export function windowOf(
  limit: GradientLimit,
  rtt: number,
  options: { bound?: boolean; n?: number; now?: number; inflight?: number } = {},
) {
  const now = options.now ?? 1_000;
  if (options.bound === true) limit.saturated();
  const n = options.n ?? Math.max(10, limit.limit);
  const inflight = options.inflight ?? limit.limit - 1;
  for (let i = 0; i < n; i++) {
    // During a probe, acquire would tag the call: these stand for calls started before it.
    if (limit.details().probing !== true) limit.acquire(inflight);
    limit.settle(Outcome.Sample, rtt, now - rtt, now, false);
  }
}

/** Runs a probe to its end: tags calls through acquire, settles them with `rtt`. */
export function completeProbe(limit: GradientLimit, rtt: number, now = 5_000): number {
  let tagged = 0;
  while (limit.acquire(1)) tagged += 1;
  for (let i = 0; i < tagged; i++) limit.settle(Outcome.Sample, rtt, now, now + rtt, true);
  return tagged;
}
