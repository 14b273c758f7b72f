/** The targets check and the charts of the fault-outcome report, on hand-made results. */
import { describe, expect, it } from 'vitest';
import { amplificationChart, successChart, timelineChart } from '../../benchmarks/scenarios/faults/charts.js';
import { contenders } from '../../benchmarks/scenarios/faults/contenders.js';
import type { Metrics, RunSummary } from '../../benchmarks/scenarios/faults/metrics.js';
import { checkTargets, report, type ScenarioResult } from '../../benchmarks/scenarios/faults/report.js';
import { faultScenarios } from '../../benchmarks/scenarios/faults/scenarios.js';

const base: Metrics = {
  requests: 1_000,
  goodput: 100,
  success: 0.9,
  amplification: 1,
  p50: 10,
  p99: 50,
  max: 80,
  p99Settled: 40,
  recovery: 0.5,
  lateCalls: 0,
  wasted: 0,
  faults: 0,
};

function result(name: string, metrics: Record<string, Partial<Metrics>>): ScenarioResult {
  const scenario = faultScenarios().find((s) => s.name === name)!;
  const rows: RunSummary[] = contenders.map((c) => ({
    scenario: name,
    contender: c.name,
    seed: 1,
    metrics: { ...base, ...metrics[c.name] },
    goodputSeries: [1, 2, 3],
    callsSeries: [1, 1, 1],
  }));
  return { scenario, rows, seeds: [rows] };
}

const failed = (checks: ReturnType<typeof checkTargets>) =>
  checks.filter((c) => !c.pass).map((c) => c.target);

describe('fault-outcome targets', () => {
  it('hard outage: amplification and settled p99 are checked against 0.1 and 60 ms', () => {
    const ok = checkTargets([result('hard-outage', { bulwark: { amplification: 0.05, p99Settled: 0 } })]);
    expect(failed(ok)).toEqual([]);
    const bad = checkTargets([result('hard-outage', { bulwark: { amplification: 0.2, p99Settled: 61 } })]);
    expect(failed(bad)).toEqual(['≤ 0.1 calls per request', 'p99 ≤ 60 ms once the breaker is open']);
  });

  it('brownout: success ≥ 99 % and ≤ 1.3 calls per request', () => {
    const checks = checkTargets([result('brownout', { bulwark: { success: 0.86, amplification: 1.24 } })]);
    expect(failed(checks)).toEqual(['success ≥ 99 %']);
  });

  it('retry storm: bulwark’s goodput against the best peer only (not the naked client)', () => {
    const checks = checkTargets([
      result('retry-storm', {
        'no policy': { goodput: 500 },
        'p-retry 7': { goodput: 300, amplification: 3 },
        bulwark: { goodput: 290, amplification: 0.4 },
      }),
    ]);
    expect(failed(checks)).toEqual(['goodput ≥ the best peer’s']);
    expect(checks.find((c) => c.target === 'goodput ≥ the best peer’s')?.measured).toBe(
      '290.0 vs 300.0 (p-retry 7)',
    );
  });

  it('flags a peer with both more goodput and fewer calls per request, not one better on a single axis', () => {
    const dominated = checkTargets([
      result('latency-spike', {
        'cockatiel 3.2': { goodput: 101, amplification: 0.99 },
        'opossum 9': { goodput: 120, amplification: 1.5 },
      }),
    ]);
    expect(failed(dominated)).toEqual(['no peer has both more goodput and fewer calls per request']);
    expect(dominated.at(-1)?.measured).toContain('cockatiel 3.2');
    expect(dominated.at(-1)?.measured).not.toContain('opossum');
    // The naked client is not a peer library.
    const naked = checkTargets([
      result('latency-spike', { 'no policy': { goodput: 101, amplification: 0.5 } }),
    ]);
    expect(failed(naked)).toEqual([]);
  });

  it('late calls and a slow recovery fail in any scenario', () => {
    const checks = checkTargets([result('slow-recovery', { bulwark: { lateCalls: 1, recovery: 1.5 } })]);
    expect(failed(checks)).toEqual(['no call starts after the deadline', 'recovery ≤ 1 s after healing']);
  });

  it('the report has a table per scenario with a row per library, and the targets', () => {
    const text = report([result('hard-outage', {}), result('retry-storm', {})], 'header');
    expect(text.startsWith('header')).toBe(true);
    expect(text).toContain('#### Hard outage');
    expect(text).toContain('#### Retry storm');
    expect(text).toContain('#### Targets');
    for (const c of contenders) expect(text).toContain(c.bulwark === true ? '**bulwark**' : c.name);
  });
});

describe('fault-outcome charts', () => {
  it('a timeline has one line per library and the incident shaded', () => {
    const svg = timelineChart(result('brownout', {}));
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg.match(/<polyline/g)).toHaveLength(contenders.length);
    expect(svg).toContain('>incident<');
  });

  it('bar charts have a bar per library and scenario', () => {
    const results = [result('hard-outage', {}), result('brownout', {})];
    const bars = (svg: string) => (svg.match(/<rect x="[\d.]+" y="[\d.]+" width/g) ?? []).length;
    // Every bar, plus the legend swatches and the plot frame.
    expect(bars(amplificationChart(results))).toBe(2 * contenders.length + contenders.length + 1);
    expect(successChart(results)).toContain('>90<');
  });
});
