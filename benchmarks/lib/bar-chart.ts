/**
 * A tiny grouped bar chart in SVG, in the style of svg.ts: no dependency,
 * output stable for a given input.
 */

/** One group of bars (e.g. one scenario), one bar per series. */
export interface BarGroup {
  readonly label: string;
  /** One value per series, in series order; NaN draws no bar. */
  readonly values: readonly number[];
}

export interface BarChartOptions {
  readonly title: string;
  readonly yLabel: string;
  /** Names and colours of the bars of each group, in order. */
  readonly series: readonly { readonly name: string; readonly color: string }[];
  readonly groups: readonly BarGroup[];
  /** Formats the value printed above each bar. Default: two decimals. */
  readonly format?: (value: number) => string;
  /** A dashed horizontal reference line, e.g. a target. */
  readonly reference?: { readonly value: number; readonly label: string };
  readonly width?: number;
  readonly height?: number;
}

const escapeXml = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const round = (n: number): string => (Math.round(n * 10) / 10).toString();

/** A "nice" tick step (1, 2 or 5 × 10ⁿ) giving about `count` ticks over `span`. */
function tickStep(span: number, count: number): number {
  const raw = span / count || 1;
  const power = 10 ** Math.floor(Math.log10(raw));
  const unit = raw / power;
  return (unit < 1.5 ? 1 : unit < 3.5 ? 2 : unit < 7.5 ? 5 : 10) * power;
}

/** Renders the groups as an SVG document. */
export function barChart(options: BarChartOptions): string {
  const width = options.width ?? 760;
  const height = options.height ?? 380;
  const margin = { top: 40, right: 20, bottom: 76, left: 56 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const format = options.format ?? ((value: number) => value.toFixed(2));
  const values = options.groups.flatMap((g) => g.values).filter((v) => Number.isFinite(v));
  const top = Math.max(options.reference?.value ?? 0, ...values, 0);
  const yStep = tickStep(top, 5);
  const yMax = Math.ceil(top / yStep) * yStep || 1;
  const sy = (y: number) => margin.top + plotH - (y / yMax) * plotH;
  const groupW = plotW / Math.max(1, options.groups.length);
  const barW = (groupW * 0.8) / Math.max(1, options.series.length);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="600">${escapeXml(options.title)}</text>`,
  );
  for (let y = 0; y <= yMax + 1e-9; y += yStep) {
    out.push(
      `<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${round(sy(y))}" y2="${round(sy(y))}" stroke="#e5e7eb"/>`,
      `<text x="${margin.left - 6}" y="${round(sy(y) + 4)}" text-anchor="end" fill="#374151">${round(y)}</text>`,
    );
  }
  options.groups.forEach((group, g) => {
    const x0 = margin.left + g * groupW + groupW * 0.1;
    group.values.forEach((value, s) => {
      if (!Number.isFinite(value)) return;
      const color = options.series[s]?.color ?? '#6b7280';
      const x = x0 + s * barW;
      const y = sy(Math.min(value, yMax));
      out.push(
        `<rect x="${round(x)}" y="${round(y)}" width="${round(barW * 0.9)}" height="${round(margin.top + plotH - y)}" fill="${color}"/>`,
        `<text x="${round(x + barW * 0.45)}" y="${round(y - 3)}" text-anchor="middle" font-size="9" fill="#111827">${escapeXml(format(value))}</text>`,
      );
    });
    out.push(
      `<text x="${round(margin.left + g * groupW + groupW / 2)}" y="${margin.top + plotH + 16}" text-anchor="middle" fill="#111827">${escapeXml(group.label)}</text>`,
    );
  });
  if (options.reference !== undefined) {
    const y = round(sy(options.reference.value));
    out.push(
      `<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${y}" y2="${y}" stroke="#dc2626" stroke-dasharray="6 4"/>`,
      // Outlined in white, so the label stays legible where it crosses a bar.
      `<text x="${margin.left + plotW - 4}" y="${round(sy(options.reference.value) - 4)}" text-anchor="end" fill="#dc2626" stroke="#ffffff" stroke-width="3" paint-order="stroke">${escapeXml(options.reference.label)}</text>`,
    );
  }
  out.push(
    `<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#9ca3af"/>`,
    `<text transform="translate(16 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle" fill="#111827">${escapeXml(options.yLabel)}</text>`,
  );
  let legendX = margin.left;
  const legendY = height - 14;
  for (const series of options.series) {
    out.push(
      `<rect x="${legendX}" y="${legendY - 10}" width="14" height="10" fill="${series.color}"/>`,
      `<text x="${legendX + 20}" y="${legendY}" fill="#111827">${escapeXml(series.name)}</text>`,
    );
    legendX += 34 + series.name.length * 6.5;
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
