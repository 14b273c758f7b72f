import { describe, expect, it } from 'vitest';
import { AimdLimit } from '../../src/adaptive/aimd.js';
import { Outcome } from '../../src/adaptive/limit.js';

const make = (overrides: Partial<ConstructorParameters<typeof AimdLimit>[0]> = {}) =>
  new AimdLimit({
    initialLimit: 10,
    minLimit: 1,
    maxLimit: 20,
    backoffRatio: 0.9,
    latencyThreshold: Number.POSITIVE_INFINITY,
    ...overrides,
  });

/** `n` successes of `rtt` ms, each started just before it settles at `now`. */
function successes(limit: AimdLimit, n: number, now = 1_000, rtt = 10): void {
  for (let i = 0; i < n; i++) limit.settle(Outcome.Sample, rtt, now - rtt, now);
}

describe('AIMD limit', () => {
  it('adds 1 per window of `limit` successes when the limit was reached in that window', () => {
    const limit = make();
    limit.acquire(10);
    successes(limit, 9);
    expect(limit.limit).toBe(10);
    successes(limit, 1);
    expect(limit.limit).toBe(11);
    expect(limit.reason).toBe('increase');
  });

  it('does not grow without evidence: a window in which the limit was never reached leaves it', () => {
    const limit = make();
    limit.acquire(3);
    successes(limit, 50);
    expect(limit.limit).toBe(10);
  });

  it('counts a call that found every slot taken as the limit being reached', () => {
    const limit = make();
    limit.saturated();
    successes(limit, 10);
    expect(limit.limit).toBe(11);
  });

  it('multiplies the limit by backoffRatio on a drop', () => {
    const limit = make({ backoffRatio: 0.5 });
    limit.settle(Outcome.Drop, 5, 100, 105);
    expect(limit.limit).toBe(5);
    expect(limit.reason).toBe('decrease');
  });

  it('decreases once per congestion event: drops of calls started before the last decrease are not counted again', () => {
    const limit = make({ backoffRatio: 0.5, initialLimit: 16 });
    limit.settle(Outcome.Drop, 50, 50, 100);
    expect(limit.limit).toBe(8);
    // Started at 60, before the decrease at 100: same congestion.
    limit.settle(Outcome.Drop, 41, 60, 101);
    limit.settle(Outcome.Drop, 20, 100, 120);
    expect(limit.limit).toBe(8);
    // Started after the decrease: new evidence.
    limit.settle(Outcome.Drop, 20, 110, 130);
    expect(limit.limit).toBe(4);
  });

  it('treats a success slower than latencyThreshold as a drop', () => {
    const limit = make({ latencyThreshold: 100 });
    limit.settle(Outcome.Sample, 100, 0, 100);
    expect(limit.limit).toBe(10);
    limit.settle(Outcome.Sample, 101, 0, 101);
    expect(limit.limit).toBe(9);
  });

  it('ignores outcomes that say nothing about the dependency', () => {
    const limit = make();
    limit.saturated();
    for (let i = 0; i < 30; i++) limit.settle(Outcome.Ignore, 1_000, 0, 1_000);
    expect(limit.limit).toBe(10);
  });

  it('stays within [minLimit, maxLimit]', () => {
    const limit = make({ initialLimit: 2, minLimit: 2, maxLimit: 3, backoffRatio: 0.5 });
    for (let t = 1; t < 20; t++) limit.settle(Outcome.Drop, 1, t * 10, t * 10 + 1);
    expect(limit.limit).toBe(2);
    for (let i = 0; i < 20; i++) {
      limit.saturated();
      successes(limit, 3, 10_000);
    }
    expect(limit.limit).toBe(3);
  });

  it('never tags calls for probes and reports no details', () => {
    const limit = make();
    expect(limit.acquire(1)).toBe(false);
    expect(limit.details()).toEqual({});
  });
});
