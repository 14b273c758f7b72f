/**
 * A tiny SVG line chart, enough for the docs' curves: no dependency, output
 * stable for a given input (so a regenerated chart diffs cleanly).
 */

/** One line on the chart. */
export interface Series {
  readonly name: string;
  readonly color: string;
  /** `[x, y]` points, x increasing. */
  readonly points: readonly (readonly [number, number])[];
  /** Dashed, e.g. for a reference line. */
  readonly dashed?: boolean;
  /** Drawn as steps (hold y until the next x), e.g. for a capacity that changes at once. */
  readonly step?: boolean;
}

/** A shaded stretch of the x axis, e.g. the time an incident lasted. */
export interface Band {
  readonly from: number;
  readonly to: number;
  readonly label: string;
  /** Fill colour (drawn translucent). Default a light red. */
  readonly color?: string;
}

export interface LineChartOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  readonly width?: number;
  readonly height?: number;
  /** The y axis starts at 0 and ends at least here. */
  readonly yMax?: number;
  /** Shaded stretches behind the lines. */
  readonly bands?: readonly Band[];
}

const escapeXml = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const round = (n: number): string => (Math.round(n * 10) / 10).toString();

/** A "nice" tick step (1, 2 or 5 × 10ⁿ) giving about `count` ticks over `span`. */
function tickStep(span: number, count: number): number {
  const raw = span / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const unit = raw / power;
  return (unit < 1.5 ? 1 : unit < 3.5 ? 2 : unit < 7.5 ? 5 : 10) * power;
}

/** Renders the series as an SVG document. */
export function lineChart(options: LineChartOptions): string {
  const width = options.width ?? 760;
  const height = options.height ?? 380;
  const margin = { top: 40, right: 20, bottom: 70, left: 56 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const all = options.series.flatMap((s) => s.points);
  const xMin = Math.min(...all.map(([x]) => x));
  const xMax = Math.max(...all.map(([x]) => x));
  const yStep = tickStep(Math.max(options.yMax ?? 0, ...all.map(([, y]) => y)), 5);
  const yMax = Math.ceil(Math.max(options.yMax ?? 0, ...all.map(([, y]) => y)) / yStep) * yStep;
  const sx = (x: number) => margin.left + ((x - xMin) / (xMax - xMin || 1)) * plotW;
  const sy = (y: number) => margin.top + plotH - (y / (yMax || 1)) * plotH;
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
  for (const band of options.bands ?? []) {
    const x1 = sx(Math.max(band.from, xMin));
    const x2 = sx(Math.min(band.to, xMax));
    out.push(
      `<rect x="${round(x1)}" y="${margin.top}" width="${round(x2 - x1)}" height="${plotH}" fill="${band.color ?? '#fca5a5'}" fill-opacity="0.25"/>`,
      `<text x="${round((x1 + x2) / 2)}" y="${margin.top + 14}" text-anchor="middle" fill="#7f1d1d">${escapeXml(band.label)}</text>`,
    );
  }
  const xStep = tickStep(xMax - xMin, 8);
  for (let x = Math.ceil(xMin / xStep) * xStep; x <= xMax + 1e-9; x += xStep) {
    out.push(
      `<line x1="${round(sx(x))}" x2="${round(sx(x))}" y1="${margin.top + plotH}" y2="${margin.top + plotH + 4}" stroke="#374151"/>`,
      `<text x="${round(sx(x))}" y="${margin.top + plotH + 18}" text-anchor="middle" fill="#374151">${round(x)}</text>`,
    );
  }
  out.push(
    `<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#9ca3af"/>`,
    `<text x="${margin.left + plotW / 2}" y="${margin.top + plotH + 36}" text-anchor="middle" fill="#111827">${escapeXml(options.xLabel)}</text>`,
    `<text transform="translate(16 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle" fill="#111827">${escapeXml(options.yLabel)}</text>`,
  );
  for (const series of options.series) {
    const coords: string[] = [];
    let previous: readonly [number, number] | undefined;
    for (const point of series.points) {
      if (series.step === true && previous !== undefined) {
        coords.push(`${round(sx(point[0]))},${round(sy(previous[1]))}`);
      }
      coords.push(`${round(sx(point[0]))},${round(sy(point[1]))}`);
      previous = point;
    }
    out.push(
      `<polyline fill="none" stroke="${series.color}" stroke-width="${series.dashed === true ? 1.5 : 1.8}"${series.dashed === true ? ' stroke-dasharray="6 4"' : ''} stroke-linejoin="round" points="${coords.join(' ')}"/>`,
    );
  }
  let legendX = margin.left;
  const legendY = height - 14;
  for (const series of options.series) {
    out.push(
      `<line x1="${legendX}" x2="${legendX + 22}" y1="${legendY - 4}" y2="${legendY - 4}" stroke="${series.color}" stroke-width="2"${series.dashed === true ? ' stroke-dasharray="6 4"' : ''}/>`,
      `<text x="${legendX + 28}" y="${legendY}" fill="#111827">${escapeXml(series.name)}</text>`,
    );
    legendX += 40 + series.name.length * 7;
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
