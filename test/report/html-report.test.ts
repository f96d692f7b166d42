import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runReplay, type ReplayReport } from '../../src/cli/replay.js';
import { escapeHtml, renderReport } from '../../src/report/html-report.js';
import { ReportRecorder } from '../../src/report/report-recorder.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DATA = join(ROOT, 'data/demo-day.csv');

/**
 * The project's script finds Chromium (installing it when missing and root); undefined when it
 * cannot, and then the browser tests are skipped — unless BULWARK_REQUIRE_CHROMIUM=1 (CI), when
 * they fail.
 */
function chromiumPath(): string | undefined {
  try {
    return execFileSync('bash', [join(ROOT, 'scripts/ensure-chromium.sh')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }).trim();
  } catch (e) {
    if (process.env['BULWARK_REQUIRE_CHROMIUM'] === '1') throw e;
    return undefined;
  }
}
const CHROMIUM = chromiumPath();

describe.skipIf(CHROMIUM === undefined)('the HTML report, rendered in headless Chromium', () => {
  let browser: Browser;
  let file: string;
  let report: ReplayReport;
  let html: string;

  beforeAll(async () => {
    file = join(await mkdtemp(join(tmpdir(), 'bulwark-report-')), 'report.html');
    report = await runReplay({ data: DATA, report: file, print: () => {} });
    html = await readFile(file, 'utf8');
    browser = await chromium.launch({ executablePath: CHROMIUM as string, args: ['--no-sandbox'] });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
  });

  it('is one self-contained file: no external scripts, styles, images or fonts', () => {
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=/i);
    expect(html).not.toMatch(/url\(/i);
  });

  it('draws the equity and underwater curves of the equity the plugin accepted, and its worst point is the kernel max drawdown', async () => {
    const page = await browser.newPage({ viewport: { width: 1000, height: 1200 } });
    await page.goto(`file://${file}`);
    const equity = await page.locator('#equity path.line').evaluate((p) => ({
      n: Number(p.getAttribute('data-points')),
      d: p.getAttribute('d') ?? '',
      box: p.getBoundingClientRect().width,
    }));
    const uw = await page.locator('#underwater path.line').evaluate((p) => ({
      n: Number(p.getAttribute('data-points')),
      min: Number(p.getAttribute('data-min')),
      max: Number(p.getAttribute('data-max')),
    }));
    // One point per batch from the first accepted snapshot (390 one-minute batches; a snapshot
    // marked to the bad tick is held back, the first batch has no snapshot yet).
    expect(equity.n).toBeGreaterThan(380);
    expect(equity.n).toBeLessThanOrEqual(390);
    expect(equity.d.split('L')).toHaveLength(equity.n);
    expect(equity.box).toBeGreaterThan(800); // it spans the chart
    expect(uw.n).toBe(equity.n);
    expect(uw.max).toBe(0);
    expect(-uw.min).toBeCloseTo(report.maxDrawdown, 9);
    // The summary states the same figure twice: from the kernel and from the drawn curve.
    const rows = await page.locator('#summary tr').allTextContents();
    const pct = (label: string) => rows.find((r) => r.startsWith(label))?.replace(label, '');
    expect(pct('max drawdown (kernel)')).toBe(`${(100 * report.maxDrawdown).toFixed(2)} %`);
    expect(pct('max drawdown (of the curve above)')).toBe(pct('max drawdown (kernel)'));
    await page.close();
  });

  it('shows the state timeline in order and one anomaly tick per anomaly', async () => {
    const page = await browser.newPage();
    await page.goto(`file://${file}`);
    const states = await page
      .locator('#timeline rect.state')
      .evaluateAll((rs) => rs.map((r) => r.getAttribute('data-state')));
    // The demo day: the drawdown ladder goes REDUCING as the crash starts (17:50) and the day ends there.
    expect(states).toEqual(['ACTIVE', 'REDUCING']);
    const anomalies = Object.values(report.plugin.anomalies).reduce((a, n) => a + (n ?? 0), 0);
    expect(await page.locator('#timeline line.anomaly').count()).toBe(anomalies);
    await page.close();
  });

  it('lists every risk action with its reason code, and sorts the table by a column on click', async () => {
    const page = await browser.newPage();
    await page.goto(`file://${file}`);
    const rows = page.locator('#actions tbody tr');
    const denied = report.summary.ordersDenied;
    const anomalies = Object.values(report.plugin.anomalies).reduce((a, n) => a + (n ?? 0), 0);
    const st = report.plugin.stops;
    const drawdownRows = await page.locator('#actions td:nth-child(2)', { hasText: 'DRAWDOWN' }).count();
    expect(await rows.count()).toBe(
      report.plugin.transitions + anomalies + denied + drawdownRows + st.placed + st.triggered + st.suppressed,
    );
    expect(await page.locator('#actions td:nth-child(4)', { hasText: 'STOP_PLACED' }).count()).toBe(st.placed);
    const codes = await page.locator('#actions tbody td:nth-child(4)').allTextContents();
    expect(codes.every((c) => /^[A-Z][A-Z0-9_]*$/.test(c))).toBe(true);
    const deniedCodes = new Set(Object.keys(report.summary.deniedByCode));
    expect(deniedCodes.has('GROSS_EXPOSURE_LIMIT')).toBe(true); // the demo's pre-trade limits deny too
    expect(codes.filter((c) => deniedCodes.has(c))).toHaveLength(denied);
    await page.locator('#actions th', { hasText: 'code' }).click();
    const sorted = await page.locator('#actions tbody td:nth-child(4)').allTextContents();
    expect(sorted).toEqual([...codes].sort());
    await page.locator('#actions th', { hasText: 'code' }).click(); // again: descending
    expect(await page.locator('#actions tbody td:nth-child(4)').allTextContents()).toEqual([...codes].sort().reverse());
    await page.close();
  });

  it('renders to pixels: a screenshot shows the blue equity line and the red underwater area', async () => {
    const page = await browser.newPage({ viewport: { width: 1000, height: 1000 } });
    await page.goto(`file://${file}`);
    const colours = async (selector: string) => {
      const png = await page.locator(selector).screenshot();
      return page.evaluate(async (b64) => {
        const img = new Image();
        img.src = `data:image/png;base64,${b64}`;
        await img.decode();
        const c = document.createElement('canvas');
        c.width = img.width;
        c.height = img.height;
        const g = c.getContext('2d') as CanvasRenderingContext2D;
        g.drawImage(img, 0, 0);
        const px = g.getImageData(0, 0, c.width, c.height).data;
        let blue = 0;
        let red = 0;
        for (let i = 0; i < px.length; i += 4) {
          const [r, gr, b] = [px[i] as number, px[i + 1] as number, px[i + 2] as number];
          if (b > 150 && r < 80 && gr < 140) blue++;
          if (r > 150 && r - gr > 30 && r - b > 30) red++; // the red line and the pink area
        }
        return { blue, red };
      }, png.toString('base64'));
    };
    const eq = await colours('#equity');
    const uw = await colours('#underwater');
    expect(eq.blue).toBeGreaterThan(500); // a drawn line across the chart
    expect(uw.red).toBeGreaterThan(5_000); // the filled drawdown area
    expect(eq.red).toBe(0);
    await page.close();
  });
});

describe('renderReport', () => {
  it('escapes every text it is given', () => {
    const rec = new ReportRecorder({ now: () => 0 });
    rec.equity(0, 100);
    rec.equity(60_000, 90);
    rec.action({
      t: 0,
      kind: 'ORDER_DENIED',
      symbol: '<img src=x onerror=alert(1)>',
      code: 'X"Y',
      detail: "</td><script>alert('x')</script>",
    });
    const html = renderReport(rec.data('<b>title</b>', [['a<', 'b>']]));
    expect(html).not.toContain('<img src=x');
    expect(html).not.toContain("<script>alert('x')");
    expect(html).toContain(escapeHtml('<img src=x onerror=alert(1)>'));
    expect(html).toContain('&lt;b&gt;title&lt;/b&gt;');
  });

  it('keeps its memory bounded: the equity curve halves its resolution, actions beyond the bound are only counted', () => {
    const rec = new ReportRecorder({ maxPoints: 100, maxActions: 10 });
    for (let i = 0; i < 100_000; i++) rec.equity(i, 100 + Math.sin(i / 1000));
    for (let i = 0; i < 25; i++) rec.action({ t: i, kind: 'K', symbol: 'S', code: 'C', detail: '' });
    const d = rec.data('t', []);
    expect(d.equity.length).toBeLessThan(100);
    expect(d.equity.length).toBeGreaterThan(40);
    expect(d.actions).toHaveLength(10);
    expect(d.actionsOmitted).toBe(15);
  });
});
