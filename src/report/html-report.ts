import { underwater, type ReportData } from './report-data.js';
import { lineChart } from './svg-chart.js';
import { at } from '../util/indexed.js';

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

const STATE_COLOURS: Readonly<Record<string, string>> = { ACTIVE: '#2e7d32', REDUCING: '#f9a825', HALTED: '#c62828' };

const CSS = `body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}h1{font-size:20px}h2{font-size:16px;margin-top:28px}
svg .frame{fill:#fafafa;stroke:#ddd}svg .line{fill:none;stroke:#1565c0;stroke-width:1.5}#underwater .line{stroke:#c62828}
svg .area{fill:#ef9a9a;opacity:.6}svg text{font-size:11px;fill:#555}svg .ylabel{text-anchor:end}svg .end{text-anchor:end}svg .title{font-weight:600;fill:#222}
table{border-collapse:collapse;margin-top:8px}th,td{border:1px solid #ddd;padding:3px 8px;text-align:left}th{background:#f0f0f0;cursor:pointer;user-select:none}
th[aria-sort=ascending]::after{content:" ▲"}th[aria-sort=descending]::after{content:" ▼"}.summary td:first-child{font-weight:600}
#timeline rect{stroke:#fff}#timeline .anomaly{stroke:#6a1b9a;stroke-width:1}`;

/** Sorts the actions table by the clicked column; numbers by value (data-v), text otherwise. */
const SCRIPT = `for(const th of document.querySelectorAll('#actions th')){th.addEventListener('click',()=>{
const i=[...th.parentNode.children].indexOf(th),tb=document.querySelector('#actions tbody'),asc=th.getAttribute('aria-sort')!=='ascending';
for(const o of th.parentNode.children)o.removeAttribute('aria-sort');th.setAttribute('aria-sort',asc?'ascending':'descending');
const key=(r)=>{const c=r.children[i];return c.dataset.v!==undefined?Number(c.dataset.v):c.textContent};
[...tb.rows].sort((a,b)=>{const x=key(a),y=key(b);return (x<y?-1:x>y?1:0)*(asc?1:-1)}).forEach((r)=>tb.appendChild(r));});}`;

/**
 * Renders one self-contained HTML report (no external resources): the summary, the equity
 * curve and the underwater (drawdown) curve as SVG, the trading-state timeline with the
 * anomalies marked on it, and a sortable table of risk actions with their reason codes.
 * Every text taken from the data is escaped.
 *
 * @example
 * ```ts
 * await writeFile('report.html', renderReport(recorder.data('Demo day', [['bars', '19 469']])));
 * ```
 */
export function renderReport(data: ReportData): string {
  const xs = data.equity.map((p) => p.t);
  const eq = data.equity.map((p) => p.equity);
  const uw = underwater(data.equity);
  const width = 960;
  const equity = lineChart(xs, eq, { width, height: 240, id: 'equity', label: 'Equity', format: (y) => y.toFixed(0) });
  const dd = lineChart(xs, uw, {
    width,
    height: 180,
    id: 'underwater',
    label: 'Underwater (drawdown from peak)',
    format: (y) => `${(100 * y).toFixed(1)} %`,
    fillToZero: true,
  });
  const maxDd = uw.length === 0 ? 0 : -Math.min(...uw);
  const summary = [...data.summary, ['max drawdown (of the curve above)', `${(100 * maxDd).toFixed(2)} %`] as const]
    .map(([k, v]) => `<tr><td>${escapeHtml(k)}</td><td>${escapeHtml(v)}</td></tr>`)
    .join('');
  const rows = data.actions
    .map(
      (a) =>
        `<tr><td data-v="${Number.isFinite(a.t) ? a.t : 0}">${Number.isFinite(a.t) ? new Date(a.t).toISOString().slice(0, 19).replace('T', ' ') : ''}</td>` +
        `<td>${escapeHtml(a.kind)}</td><td>${escapeHtml(a.symbol)}</td><td><code>${escapeHtml(a.code)}</code></td><td>${escapeHtml(a.detail)}</td></tr>`,
    )
    .join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(data.title)}</title><style>${CSS}</style></head><body>
<h1>${escapeHtml(data.title)}</h1>
<table class="summary" id="summary">${summary}</table>
<h2>Equity</h2>${equity}
<h2>Drawdown</h2>${dd}
<h2>Trading state and anomalies</h2>${timeline(data, xs, width)}
<h2>Risk actions</h2>
<p>${data.actions.length} actions${data.actionsOmitted > 0 ? `, ${data.actionsOmitted} more not recorded (bound reached)` : ''}. Click a column to sort.</p>
<table id="actions"><thead><tr><th>time</th><th>kind</th><th>symbol</th><th>code</th><th>detail</th></tr></thead><tbody>${rows}</tbody></table>
<script>${SCRIPT}</script></body></html>
`;
}

/** The state timeline: one coloured band per state interval, anomalies as ticks above it. */
function timeline(data: ReportData, xs: readonly number[], width: number): string {
  if (xs.length === 0) return '<svg id="timeline" width="0" height="0"></svg>';
  const x0 = at(xs, 0);
  const x1 = at(xs, xs.length - 1);
  const span = x1 - x0 || 1;
  const pad = 76;
  const w = width - pad - 40;
  const px = (t: number) => pad + ((Math.min(Math.max(t, x0), x1) - x0) / span) * w;
  const bands: string[] = [];
  let from = x0;
  let state = data.states[0]?.from ?? 'ACTIVE';
  const emit = (to: number) =>
    bands.push(
      `<rect class="state" data-state="${state}" x="${px(from).toFixed(1)}" y="30" width="${Math.max(px(to) - px(from), 0.5).toFixed(1)}" height="24" fill="${STATE_COLOURS[state] ?? '#777'}"><title>${state}</title></rect>`,
    );
  for (const s of data.states) {
    emit(s.t);
    from = s.t;
    state = s.to;
  }
  emit(x1);
  const ticks = data.anomalies
    .map(
      (a) =>
        `<line class="anomaly" x1="${px(a.t).toFixed(1)}" x2="${px(a.t).toFixed(1)}" y1="8" y2="26"><title>${escapeHtml(`${a.type} ${a.severity} ${a.symbols.slice(0, 5).join(', ')}`)}</title></line>`,
    )
    .join('');
  const legend = Object.entries(STATE_COLOURS)
    .map(
      ([s, c], i) =>
        `<rect x="${pad + i * 110}" y="64" width="12" height="12" fill="${c}"/><text x="${pad + i * 110 + 16}" y="74">${s}</text>`,
    )
    .join('');
  return `<svg id="timeline" viewBox="0 0 ${width} 84" width="${width}" height="84" role="img" aria-label="trading state timeline">${bands.join('')}${ticks}${legend}</svg>`;
}
