/** The SVG charts of the fault-outcome scenarios, written to docs/img/. */
import { barChart } from '../../lib/bar-chart.js';
import { lineChart } from '../../lib/svg.js';
import { SERIES_BUCKET } from './metrics.js';
import type { ScenarioResult } from './report.js';

/** A colour per library, stable across charts. */
export const COLORS: Readonly<Record<string, string>> = {
  'no policy': '#9ca3af',
  'p-retry 7': '#f59e0b',
  'opossum 9': '#8b5cf6',
  'p-retry 7 + opossum 9': '#b45309',
  'cockatiel 3.2': '#0ea5e9',
  bulwark: '#16a34a',
};

const colorOf = (name: string): string => COLORS[name] ?? '#374151';

/** File name of a scenario's goodput chart. */
export const timelineFile = (scenario: string): string => `faults-${scenario}.svg`;

/** Goodput over time, one line per library, the incident shaded. */
export function timelineChart(result: ScenarioResult): string {
  const { scenario } = result;
  const offered = scenario.clients * scenario.rate;
  return lineChart({
    title: `${scenario.title}: successful answers per second (offered ${offered}/s)`,
    xLabel: 'time (s)',
    yLabel: 'ok / s',
    yMax: offered,
    bands: [{ from: scenario.bad.from / 1_000, to: scenario.bad.to / 1_000, label: 'incident' }],
    series: result.rows.map((row) => ({
      name: row.contender,
      color: colorOf(row.contender),
      points: row.goodputSeries.map((value, i) => [((i + 0.5) * SERIES_BUCKET) / 1_000, value] as const),
    })),
  });
}

/** Calls reaching the dependency per user request, per scenario and library. */
export function amplificationChart(results: readonly ScenarioResult[]): string {
  const names = results[0]?.rows.map((row) => row.contender) ?? [];
  return barChart({
    title: 'Calls reaching the dependency per user request, during the incident',
    yLabel: 'calls / request',
    series: names.map((name) => ({ name, color: colorOf(name) })),
    groups: results.map((result) => ({
      label: result.scenario.title,
      values: names.map(
        (name) => result.rows.find((row) => row.contender === name)?.metrics.amplification ?? Number.NaN,
      ),
    })),
    reference: { value: 1, label: '1 call per request' },
  });
}

/** Share of the incident's requests answered successfully within the deadline. */
export function successChart(results: readonly ScenarioResult[]): string {
  const names = results[0]?.rows.map((row) => row.contender) ?? [];
  return barChart({
    title: 'Requests answered successfully within the deadline, during the incident',
    yLabel: 'success (%)',
    format: (value) => value.toFixed(0),
    series: names.map((name) => ({ name, color: colorOf(name) })),
    groups: results.map((result) => ({
      label: result.scenario.title,
      values: names.map(
        (name) => 100 * (result.rows.find((row) => row.contender === name)?.metrics.success ?? Number.NaN),
      ),
    })),
  });
}
