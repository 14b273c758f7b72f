import type { ClientStats, EventCounts } from './clients.js';

/** The value at quantile `q` of `values` (nearest rank), or NaN when empty. */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

const ms = (value: number) => (Number.isFinite(value) ? `${Math.round(value)} ms` : '—');
const pct = (part: number, whole: number) => (whole === 0 ? '—' : `${((100 * part) / whole).toFixed(1)} %`);

/** The live status: each client's counts, the breaker's and the service's state. */
export function statusLine(
  clients: readonly ClientStats[],
  breakerState: string,
  serviceDown: boolean,
): string {
  const parts = clients.map(
    (c) =>
      `${c.name}: ${c.fresh + c.substituted} ok${c.substituted > 0 ? ` (${c.substituted} fallback)` : ''}, ${c.failed} failed, ${c.inFlight} in flight`,
  );
  return `${parts.join(' │ ')} │ breaker ${breakerState} │ service ${serviceDown ? 'DOWN' : 'up'}`;
}

/** The final side-by-side table. */
export function summaryTable(
  naked: ClientStats,
  guarded: ClientStats,
  reached: ReadonlyMap<string, number>,
  events: EventCounts,
): string {
  const answered = (c: ClientStats) => c.fresh + c.substituted;
  const rows: [string, string, string][] = [
    ['calls', String(naked.calls), String(guarded.calls)],
    ['success rate', pct(answered(naked), naked.calls), pct(answered(guarded), guarded.calls)],
    ['  fresh answers', String(naked.fresh), String(guarded.fresh)],
    ['  fallback answers', '—', String(guarded.substituted)],
    ['failures', String(naked.failed), String(guarded.failed)],
    ['latency p50', ms(percentile(naked.latencies, 0.5)), ms(percentile(guarded.latencies, 0.5))],
    ['latency p99', ms(percentile(naked.latencies, 0.99)), ms(percentile(guarded.latencies, 0.99))],
    [
      'requests that reached the service',
      String(reached.get(naked.name) ?? 0),
      String(reached.get(guarded.name) ?? 0),
    ],
    ['retries', '—', String(events.retries)],
    ['  refused by the retry budget', '—', String(events.budgetRefusals)],
    ['timeouts', '—', String(events.timeouts)],
    ['fallbacks', '—', String(events.fallbacks)],
    ['breaker opens', '—', String(events.breakerOpens)],
    ['breaker rejections (not sent)', '—', String(events.breakerRejections)],
    ['bulkhead rejections', '—', String(events.bulkheadRejections)],
  ];
  const header: [string, string, string] = ['', naked.name, guarded.name];
  const all = [header, ...rows];
  const width = [0, 1, 2].map((i) => Math.max(...all.map((r) => r[i]!.length)));
  const line = (r: readonly string[]) =>
    `  ${r[0]!.padEnd(width[0]!)}   ${r[1]!.padStart(width[1]!)}   ${r[2]!.padStart(width[2]!)}`;
  const rule = `  ${'─'.repeat(width[0]! + width[1]! + width[2]! + 6)}`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}
