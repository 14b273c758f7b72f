/**
 * The markdown the harness prints: one table per scenario, and bulwark's
 * targets checked against the numbers (docs/benchmarks.md).
 */
import { table } from '../../lib/table.js';
import { contenders } from './contenders.js';
import type { RunSummary } from './metrics.js';
import type { FaultScenario } from './scenarios.js';

/** One scenario's results: per library, the median over seeds. */
export interface ScenarioResult {
  readonly scenario: FaultScenario;
  /** Combined (median) summary per library, in table order. */
  readonly rows: readonly RunSummary[];
  /** Each seed's summaries, for per-seed figures. */
  readonly seeds: readonly (readonly RunSummary[])[];
}

/** One target of the recommended configuration, and whether the numbers meet it. */
export interface TargetCheck {
  readonly scenario: string;
  readonly target: string;
  readonly measured: string;
  readonly pass: boolean;
}

const fixed = (value: number, digits: number): string =>
  Number.isFinite(value) ? value.toFixed(digits) : value === Number.POSITIVE_INFINITY ? '∞' : 'n/a';
const ms = (value: number): string => (Number.isFinite(value) ? `${Math.round(value)}` : 'n/a');
const percent = (value: number): string => (Number.isFinite(value) ? `${(value * 100).toFixed(1)} %` : 'n/a');
const seconds = (value: number): string =>
  value === Number.POSITIVE_INFINITY ? 'never' : Number.isFinite(value) ? `${value.toFixed(1)} s` : 'n/a';

/** The scenario's table: one row per library. */
export function scenarioTable(result: ScenarioResult): string {
  const headers = [
    'library',
    'goodput (ok/s)',
    'success',
    'calls / request',
    'p50 (ms)',
    'p99 (ms)',
    'p99 settled (ms)',
    'max (ms)',
    'recovery',
    'late calls',
    'wasted',
  ];
  const rows = result.rows.map((row) => {
    const m = row.metrics;
    return [
      row.contender === 'bulwark' ? '**bulwark**' : row.contender,
      fixed(m.goodput, 1),
      percent(m.success),
      fixed(m.amplification, 3),
      ms(m.p50),
      ms(m.p99),
      ms(m.p99Settled),
      ms(m.max),
      seconds(m.recovery),
      String(m.lateCalls),
      String(Math.round(m.wasted)),
    ];
  });
  return table(headers, rows);
}

const isPeer = (name: string): boolean => contenders.find((c) => c.name === name)?.peer === true;

/**
 * The targets, checked on the combined numbers (medians over seeds; late
 * calls and faults are the worst seed). Only scenarios that ran are checked.
 */
export function checkTargets(results: readonly ScenarioResult[]): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const result of results) {
    const name = result.scenario.name;
    const bulwark = result.rows.find((row) => row.contender === 'bulwark')?.metrics;
    if (bulwark === undefined) continue;
    const peers = result.rows.filter((row) => isPeer(row.contender));
    const check = (target: string, measured: string, pass: boolean) =>
      checks.push({ scenario: name, target, measured, pass });
    if (name === 'hard-outage') {
      check('≤ 0.1 calls per request', fixed(bulwark.amplification, 3), bulwark.amplification <= 0.1);
      check('p99 ≤ 60 ms once the breaker is open', `${ms(bulwark.p99Settled)} ms`, bulwark.p99Settled <= 60);
    }
    if (name === 'brownout') {
      check('success ≥ 99 %', percent(bulwark.success), bulwark.success >= 0.99);
      check('≤ 1.3 calls per request', fixed(bulwark.amplification, 3), bulwark.amplification <= 1.3);
    }
    if (name === 'retry-storm' && peers.length > 0) {
      const best = peers.reduce((a, b) => (b.metrics.goodput > a.metrics.goodput ? b : a));
      check(
        'goodput ≥ the best peer’s',
        `${fixed(bulwark.goodput, 1)} vs ${fixed(best.metrics.goodput, 1)} (${best.contender})`,
        bulwark.goodput >= best.metrics.goodput,
      );
      check('≤ 1.0 calls per request', fixed(bulwark.amplification, 3), bulwark.amplification <= 1.0);
    }
    check('no call starts after the deadline', String(bulwark.lateCalls), bulwark.lateCalls === 0);
    check('recovery ≤ 1 s after healing', seconds(bulwark.recovery), bulwark.recovery <= 1);
    const dominating = peers.filter(
      (row) => row.metrics.goodput > bulwark.goodput && row.metrics.amplification < bulwark.amplification,
    );
    check(
      'no peer has both more goodput and fewer calls per request',
      dominating.length === 0
        ? 'none'
        : dominating
            .map(
              (row) =>
                `${row.contender}: ${fixed(row.metrics.goodput, 1)} ok/s at ${fixed(row.metrics.amplification, 3)}`,
            )
            .join('; '),
      dominating.length === 0,
    );
  }
  return checks;
}

/** The targets as a markdown table. */
export function targetsTable(checks: readonly TargetCheck[]): string {
  return table(
    ['scenario', 'target (bulwark)', 'measured', 'met'],
    checks.map((c) => [c.scenario, c.target, c.measured, c.pass ? 'yes' : '**no**']),
  );
}

/** The whole report: settings, a table per scenario, the targets. */
export function report(results: readonly ScenarioResult[], header: string): string {
  const parts = [header];
  for (const result of results) {
    parts.push(`#### ${result.scenario.title}`, result.scenario.description, scenarioTable(result));
  }
  parts.push('#### Targets', targetsTable(checkTargets(results)));
  return `${parts.join('\n\n')}\n`;
}
