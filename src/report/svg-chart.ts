import { at } from '../util/indexed.js';
/** A line chart as an SVG fragment: one path over a time axis, with min/max labels. */
export interface LineChartOptions {
  readonly width: number;
  readonly height: number;
  readonly id: string;
  readonly label: string;
  /** Formats a y value for the axis labels. */
  readonly format: (y: number) => string;
  /** Fill the area between the line and y = 0 (an underwater curve). */
  readonly fillToZero?: boolean;
}

const PAD = 40;
/** Room for the y labels on the left. */
const LEFT = 76;

/**
 * Renders `xs`/`ys` as an inline SVG line chart scaled to its own extent (y always includes 0
 * when `fillToZero`). The path carries `data-points` (the point count) and `data-min`/`data-max`
 * (the y extent) for tests and tools.
 *
 * @example
 * ```ts
 * lineChart([0, 1, 2], [100, 105, 98], { width: 800, height: 200, id: 'equity', label: 'Equity', format: (y) => y.toFixed(0) });
 * ```
 */
export function lineChart(xs: readonly number[], ys: readonly number[], o: LineChartOptions): string {
  const n = Math.min(xs.length, ys.length);
  if (n === 0)
    return `<svg id="${o.id}" width="${o.width}" height="${o.height}" role="img" aria-label="${o.label}: no data"></svg>`;
  let yMin = Number.POSITIVE_INFINITY;
  let yMax = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const y = at(ys, i);
    if (y < yMin) yMin = y;
    if (y > yMax) yMax = y;
  }
  const lo = o.fillToZero === true ? Math.min(yMin, 0) : yMin;
  const hi = o.fillToZero === true ? Math.max(yMax, 0) : yMax;
  const x0 = at(xs, 0);
  const xSpan = at(xs, n - 1) - x0 || 1;
  const ySpan = hi - lo || 1;
  const w = o.width - LEFT - PAD;
  const h = o.height - 2 * PAD;
  const px = (x: number) => (LEFT + ((x - x0) / xSpan) * w).toFixed(1);
  const py = (y: number) => (PAD + (1 - (y - lo) / ySpan) * h).toFixed(1);
  let d = '';
  for (let i = 0; i < n; i++) d += `${i === 0 ? 'M' : 'L'}${px(at(xs, i))},${py(at(ys, i))}`;
  const area =
    o.fillToZero === true ? `<path class="area" d="${d}L${px(at(xs, n - 1))},${py(0)}L${px(x0)},${py(0)}Z"/>` : '';
  const time = (t: number) => new Date(t).toISOString().slice(0, 16).replace('T', ' ');
  return [
    `<svg id="${o.id}" viewBox="0 0 ${o.width} ${o.height}" width="${o.width}" height="${o.height}" role="img" aria-label="${o.label}">`,
    `<rect x="${LEFT}" y="${PAD}" width="${w}" height="${h}" class="frame"/>`,
    area,
    `<path class="line" d="${d}" data-points="${n}" data-min="${yMin}" data-max="${yMax}"/>`,
    `<text x="${LEFT - 4}" y="${PAD + 4}" class="ylabel">${o.format(hi)}</text>`,
    `<text x="${LEFT - 4}" y="${PAD + h}" class="ylabel">${o.format(lo)}</text>`,
    `<text x="${LEFT}" y="${o.height - 8}" class="xlabel">${time(x0)}</text>`,
    `<text x="${LEFT + w}" y="${o.height - 8}" class="xlabel end">${time(at(xs, n - 1))}</text>`,
    `<text x="${LEFT}" y="${PAD - 10}" class="title">${o.label}</text>`,
    '</svg>',
  ].join('');
}
