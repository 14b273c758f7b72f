/**
 * The fault-outcome harness (benchmarks/scenarios/faults): repeatable for a
 * seed, the same workload for every library, a deadline that is measured
 * whatever the library does — and, as a regression guard, bulwark's
 * recommended configuration meeting its key targets on a quick run.
 */
import { describe, expect, it } from 'vitest';
import { type Contender, contenders } from '../../benchmarks/scenarios/faults/contenders.js';
import { runJob } from '../../benchmarks/scenarios/faults/job.js';
import { measure, type RunSummary } from '../../benchmarks/scenarios/faults/metrics.js';
import { type FaultScenario, faultScenarios, QUICK } from '../../benchmarks/scenarios/faults/scenarios.js';
import { type RunLog, simulate } from '../../benchmarks/scenarios/faults/simulate.js';

/** A scenario cut down to 4 virtual seconds, for tests that only need some traffic. */
function mini(name: string): FaultScenario {
  const scenario = faultScenarios({ warmup: 1_000, bad: 2_000, after: 1_000 }).find((s) => s.name === name);
  if (scenario === undefined) throw new Error(name);
  return scenario;
}

const contender = (name: string): Contender => {
  const found = contenders.find((c) => c.name === name);
  if (found === undefined) throw new Error(name);
  return found;
};

/** Everything a run logged, as plain data to compare. */
const plain = (log: RunLog) => ({
  count: log.count,
  arrival: Array.from(log.arrival),
  end: Array.from(log.end),
  ok: Array.from(log.ok),
  calls: Array.from(log.calls),
  callsPerSecond: Array.from(log.callsPerSecond),
  lateCalls: log.lateCalls,
  dependency: log.dependency,
  faults: log.faults,
});

describe('fault-outcome harness', () => {
  it('is deterministic for a seed: the same run twice gives the same log, request by request', async () => {
    for (const name of ['bulwark', 'p-retry 7', 'cockatiel 3.2', 'opossum 9']) {
      const scenario = mini('brownout');
      const first = await simulate(scenario, contender(name), { seed: 3 });
      const second = await simulate(scenario, contender(name), { seed: 3 });
      expect(plain(second), name).toEqual(plain(first));
      expect(first.count).toBeGreaterThan(500);
    }
  });

  it('another seed draws another workload', async () => {
    const scenario = mini('hard-outage');
    const a = await simulate(scenario, contender('no policy'), { seed: 1 });
    const b = await simulate(scenario, contender('no policy'), { seed: 2 });
    expect(Array.from(b.arrival)).not.toEqual(Array.from(a.arrival));
  });

  it('every library gets the same workload for a seed (arrivals depend on the seed only)', async () => {
    const scenario = mini('retry-storm');
    const naked = await simulate(scenario, contender('no policy'), { seed: 5 });
    const bulwark = await simulate(scenario, contender('bulwark'), { seed: 5 });
    expect(Array.from(bulwark.arrival)).toEqual(Array.from(naked.arrival));
    // Five clients at 200/s for 4 s: about 4 000 requests.
    expect(naked.count).toBeGreaterThan(3_600);
    expect(naked.count).toBeLessThan(4_400);
  });

  it('flushing with nextTick gives exactly the run a full event-loop turn per timer gives', async () => {
    const scenario = mini('brownout');
    const fast = await simulate(scenario, contender('bulwark'), { seed: 9, drain: 'tick' });
    const safe = await simulate(scenario, contender('bulwark'), { seed: 9, drain: 'immediate' });
    expect(plain(fast)).toEqual(plain(safe));
  });

  it('the caller gives up at the 2-s deadline whatever the library does', async () => {
    const hang: Contender = {
      name: 'hangs',
      peer: false,
      config: '',
      create: () => ({ call: () => new Promise(() => {}), dispose() {} }),
    };
    const log = await simulate(mini('hard-outage'), hang, { seed: 1 });
    for (let i = 0; i < log.count; i++) {
      expect(log.ok[i]).toBe(0);
      expect(log.end[i]! - log.arrival[i]!).toBe(2_000);
    }
  });

  it('counts attempts started after the deadline, and only those', async () => {
    // Tries once, then again 2.5 s later whether or not the caller still waits.
    let retried = 0;
    const stubborn = (checksSignal: boolean): Contender => ({
      name: checksSignal ? 'checks' : 'stubborn',
      peer: false,
      config: '',
      create: () => ({
        async call(attempt, deadline) {
          await attempt(deadline).catch(() => undefined);
          await new Promise((resolve) => setTimeout(resolve, 2_500));
          if (checksSignal && deadline.aborted) throw deadline.reason;
          retried += 1;
          return attempt(deadline);
        },
        dispose() {},
      }),
    });
    const late = await simulate(mini('hard-outage'), stubborn(false), { seed: 1 });
    // Requests arriving in the last 2.5 s of the run do not live to try again.
    expect(retried).toBeGreaterThan(late.count / 2);
    expect(late.lateCalls).toBe(retried);
    // Sent with an aborted signal, the late attempts never reached the dependency.
    expect(late.dependency.arrivals).toBe(late.count);
    retried = 0;
    const onTime = await simulate(mini('hard-outage'), stubborn(true), { seed: 1 });
    expect(retried).toBe(0);
    expect(onTime.lateCalls).toBe(0);
  });
});

describe('regression guard: bulwark’s recommended configuration on quick runs', () => {
  const quick = (name: string): FaultScenario => faultScenarios(QUICK).find((s) => s.name === name)!;
  const row = (runs: RunSummary[], name: string) => runs.find((r) => r.contender === name)!.metrics;

  it('hard outage: ≤ 0.1 calls per request, p99 ≤ 60 ms once open, nothing after the deadline, back within 1 s', async () => {
    const runs = await runJob({
      scenario: 'hard-outage',
      quick: true,
      seed: 1,
      only: ['bulwark', 'p-retry 7'],
    });
    const bulwark = row(runs, 'bulwark');
    expect(bulwark.amplification).toBeLessThanOrEqual(0.1);
    expect(bulwark.p99Settled).toBeLessThanOrEqual(60);
    expect(bulwark.lateCalls).toBe(0);
    expect(bulwark.recovery).toBeLessThanOrEqual(1);
    expect(bulwark.faults).toBe(0);
    // The comparison the target is about: retries alone send ~4 calls per request.
    expect(row(runs, 'p-retry 7').amplification).toBeGreaterThan(3.5);
  }, 60_000);

  it('retry storm: the served capacity kept at ≤ 1 call per request, where breakers that trip lose it', async () => {
    const runs = await runJob({
      scenario: 'retry-storm',
      quick: true,
      seed: 1,
      only: ['no policy', 'opossum 9', 'bulwark'],
    });
    const bulwark = row(runs, 'bulwark');
    // With no policy the queue keeps the server busy: its goodput is the capacity.
    expect(bulwark.goodput).toBeGreaterThanOrEqual(0.97 * row(runs, 'no policy').goodput);
    expect(bulwark.goodput).toBeGreaterThan(2 * row(runs, 'opossum 9').goodput);
    expect(bulwark.amplification).toBeLessThanOrEqual(1);
    expect(bulwark.lateCalls).toBe(0);
    expect(bulwark.recovery).toBeLessThanOrEqual(1);
    expect(bulwark.wasted).toBe(0);
  }, 60_000);

  it('the metrics of a run are those of its log', async () => {
    const scenario = quick('latency-spike');
    const log = await simulate(scenario, contender('bulwark'), { seed: 2 });
    const metrics = measure(log, scenario);
    expect(metrics.requests).toBeGreaterThan(2_500);
    expect(metrics.success).toBeGreaterThan(0.99);
    expect(metrics.lateCalls).toBe(0);
  }, 60_000);
});
