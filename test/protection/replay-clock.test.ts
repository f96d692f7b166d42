import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runReplay } from '../../src/cli/replay.js';
import type { RiskLogger } from '../../src/logging/logger.js';

const DATA = new URL('../../data/demo-day.csv', import.meta.url).pathname;
const MIN = 60_000;

/** A logger that keeps every record (debug included: every stop move). */
function capture(): { logger: RiskLogger; records: Record<string, unknown>[] } {
  const records: Record<string, unknown>[] = [];
  const keep = (obj: object) => void records.push(obj as Record<string, unknown>);
  return { records, logger: { isLevelEnabled: () => true, debug: keep, info: keep, warn: keep, error: keep } };
}

interface CsvBar {
  readonly t: number;
  readonly symbol: string;
  readonly low: number;
  readonly high: number;
}

async function bars(path: string): Promise<CsvBar[]> {
  const lines = (await readFile(path, 'utf8')).trim().split('\n').slice(1);
  const out: CsvBar[] = [];
  for (const line of lines) {
    const [ts, symbol, , high, low] = line.split(',');
    const t = Date.parse(ts as string);
    if (Number.isFinite(t) && symbol !== undefined) out.push({ t, symbol, low: Number(low), high: Number(high) });
  }
  return out;
}

describe('the replay runs on one clock with its embedded broker', () => {
  it('npm start three times prints the same summary', async () => {
    const runs: string[][] = [];
    for (let i = 0; i < 3; i++) {
      const lines: string[] = [];
      await runReplay({ data: DATA, print: (l) => lines.push(l) });
      runs.push(lines);
    }
    expect(runs[0]?.length).toBeGreaterThan(8);
    expect(runs[1]).toEqual(runs[0]);
    expect(runs[2]).toEqual(runs[0]);
  }, 120_000);

  it('every stop the demo crash trades through executes at the broker on that bar or the next, and the protective fills reach realised P&L', async () => {
    const { logger, records } = capture();
    const report = await runReplay({ data: DATA, logger, print: () => {} });
    // The plugin's stop per symbol over time, from its own decision records (the broker holds
    // it rounded toward the tighter side, so a bar through this price is through the broker's).
    const stops = records.filter((r) => r['event'] === 'STOP');
    const all = await bars(DATA);
    const crashFrom = Date.parse('2026-03-02T17:50:00Z');
    const crashTo = Date.parse('2026-03-02T17:59:00Z');
    const executions = report.executions;
    let crossed = 0;
    for (const b of all) {
      if (b.t < crashFrom || b.t > crashTo) continue;
      // The live stop before this bar: the last PLACED/MOVED since the last TRIGGERED.
      let live: { stop: number; side: string } | undefined;
      for (const r of stops) {
        if (r['symbol'] !== b.symbol || (r['timestamp'] as number) >= b.t) continue;
        if (r['code'] === 'STOP_TRIGGERED') live = undefined;
        else if (r['code'] === 'STOP_PLACED' || r['code'] === 'STOP_MOVED')
          live = { stop: r['stop'] as number, side: r['side'] as string };
      }
      if (live === undefined) continue;
      const through = live.side === 'LONG' ? b.low <= live.stop : b.high >= live.stop;
      if (!through) continue;
      // Executed earlier already (an earlier bar went through): nothing left to check here.
      if (executions.some((e) => e.symbol === b.symbol && e.time < b.t && e.time >= b.t - 2 * MIN)) continue;
      crossed++;
      const at = executions.filter((e) => e.symbol === b.symbol && e.time >= b.t && e.time <= b.t + MIN);
      expect(at, `${b.symbol} through its stop ${live.stop} at ${new Date(b.t).toISOString()}`).toHaveLength(1);
    }
    expect(crossed).toBeGreaterThan(5); // the crash did go through stops
    expect(report.brokerFills).toBe(report.executions.length);
    expect(report.summary.realisedPnl).not.toBe(0);
    expect(report.converged).toBe(true);
  }, 60_000);

  it('a 40-bar file crashing at 14:55: the stop rests before the crash bar and executes on it, not at the end', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bulwark-crash40-'));
    const path = join(dir, 'crash.csv');
    const t0 = Date.parse('2026-03-02T14:30:00Z');
    const lines = ['timestamp,symbol,open,high,low,close,volume'];
    let price = 200;
    for (let i = 0; i < 40; i++) {
      const t = new Date(t0 + i * MIN).toISOString();
      // A gentle rise, then from 14:55 a fall: 10 % on the crash bar, 5 % a bar after it (to ~90 at the end).
      const open = price;
      const close = i < 25 ? price * 1.001 : i === 25 ? price * 0.9 : price * 0.95;
      const high = Math.max(open, close) * 1.0005;
      const low = Math.min(open, close) * 0.9995;
      lines.push(`${t},CRSH,${open},${high},${low},${close},1000`);
      price = close;
    }
    await writeFile(path, `${lines.join('\n')}\n`);
    const report = await runReplay({ data: path, print: () => {} });
    expect(report.executions).toHaveLength(1);
    const e = report.executions[0];
    expect(new Date(e?.time as number).toISOString()).toBe('2026-03-02T14:55:00.000Z');
    expect(e?.price as number).toBeGreaterThan(180); // on the crash bar's way down, not at the day's last close near 90
    // The protective fill is in the books: no position left, P&L realised.
    expect(report.stops).toEqual([]);
    expect(report.summary.realisedPnl).toBeLessThan(0);
    expect(report.summary.finalEquity).toBeCloseTo(1_000_000 + report.summary.realisedPnl, 6);
  }, 60_000);
});
