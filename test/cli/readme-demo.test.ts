/**
 * The README's claims about the demo (`npm start`: `bulwark replay` on data/demo-day.csv),
 * checked against the bundled file itself (read here, independently of the generator) and
 * against what the demo prints.
 */
import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli } from './run-cli.js';
import { EXIT } from '../../src/cli/cli-error.js';

const README = new URL('../../README.md', import.meta.url);
const DATA = new URL('../../data/demo-day.csv', import.meta.url);

interface Row {
  readonly line: number;
  readonly timestamp: string;
  readonly symbol: string;
  readonly open: number;
  readonly high: number;
  readonly low: number;
  readonly close: number;
}

interface DemoJson {
  readonly summary: {
    barsRead: number;
    barsRejected: number;
    batches: number;
    finalEquity: number;
    ordersFilled: number;
    deniedByCode: Record<string, number>;
  };
  readonly plugin: { anomalies: Record<string, number>; state: string; orders: { allowed: number } };
  readonly limits: {
    exposure?: { grossExposure: number; netExposure: number; ordersToday: number };
    dailyLoss?: { loss: number; limit: number | undefined; tripped: boolean };
  };
  readonly brokerExecutions: number;
  readonly brokerFills: number;
  readonly converged: boolean;
  readonly protection: { converged: number; pending: number; unprotected: number };
  readonly startingEquity: number;
  readonly rejectedRows: { line: number; code: string }[];
}

let readme = '';
let rows: Row[] = [];
let demo: DemoJson;
let demoText = '';
let again = '';

beforeAll(async () => {
  readme = (await readFile(README, 'utf8')).replace(/\s+/g, ' ');
  rows = (await readFile(DATA, 'utf8'))
    .trim()
    .split('\n')
    .slice(1)
    .map((l, i) => {
      const [timestamp = '', symbol = '', open, high, low, close] = l.split(',');
      return {
        line: i + 2,
        timestamp,
        symbol,
        open: Number(open),
        high: Number(high),
        low: Number(low),
        close: Number(close),
      };
    });
  const json = await cli('replay', '--json');
  expect(json.code).toBe(EXIT.OK);
  demo = JSON.parse(json.out) as DemoJson;
  const text = await cli('replay');
  expect(text.code).toBe(EXIT.OK);
  demoText = text.out;
  again = (await cli('replay')).out;
}, 120_000);

describe('the README’s demo claims', () => {
  it('"50 symbols × 390 one-minute bars": the file has 50 symbols and 390 minutes, and the demo reads every row', () => {
    expect(readme).toMatch(/50 symbols × 390 one-minute bars/);
    expect(new Set(rows.map((r) => r.symbol)).size).toBe(50);
    expect(new Set(rows.map((r) => r.timestamp)).size).toBe(390);
    expect(demo.summary.barsRead).toBe(rows.length);
    expect(demo.summary.batches).toBe(390);
  });

  it('"a 10× bad tick on HALO at 16:30Z": in the file, and caught as a BAD_TICK', () => {
    expect(readme).toMatch(/a 10× bad tick on HALO at 16:30Z/);
    const halo = rows.filter((r) => r.symbol === 'HALO');
    const i = halo.findIndex((r) => r.timestamp === '2026-03-02T16:30:00Z');
    const tick = halo[i];
    const before = halo[i - 1];
    if (tick === undefined || before === undefined) throw new Error('no HALO bar at 16:30Z');
    expect(tick.close / before.close).toBeCloseTo(10, 0);
    expect(demo.plugin.anomalies['BAD_TICK']).toBeGreaterThanOrEqual(1);
  });

  it('"an invalid row": exactly one row is invalid (high < low), rejected and located by its line', () => {
    expect(readme).toMatch(/an invalid row/);
    const invalid = rows.filter((r) => !(r.low <= Math.min(r.open, r.close) && Math.max(r.open, r.close) <= r.high));
    expect(invalid).toHaveLength(1);
    expect(demo.summary.barsRejected).toBe(1);
    expect(demo.rejectedRows).toEqual([expect.objectContaining({ line: invalid[0]?.line, code: 'INCONSISTENT_OHLC' })]);
    expect(demoText).toContain(`line ${invalid[0]?.line} INCONSISTENT_OHLC`);
  });

  it('"a symbol that goes stale for 30 minutes": one symbol misses 30 consecutive minutes, and STALE_FEED fires', () => {
    expect(readme).toMatch(/a symbol that goes stale for 30 minutes/);
    const minutes = [...new Set(rows.map((r) => r.timestamp))];
    const missing = new Map<string, number>();
    for (const r of rows) missing.set(r.symbol, (missing.get(r.symbol) ?? 0) + 1);
    const short = [...missing].filter(([, n]) => n < minutes.length);
    expect(short).toEqual([[expect.any(String), minutes.length - 30]]);
    expect(demo.plugin.anomalies['STALE_FEED']).toBeGreaterThanOrEqual(1);
  });

  it('"a market crash at 17:50Z": the drawdown ladder moves trading at 17:50Z, printed with its zone', () => {
    expect(readme).toMatch(/a market crash at 17:50Z/);
    expect(demoText).toMatch(/17:50Z ACTIVE → REDUCING \(DRAWDOWN_REDUCE_THRESHOLD\)/);
  });

  it('the summary shows what the README lists, the broker’s executions beside the fills booked, the protection at the end and both equities', () => {
    for (const heading of [
      'bars',
      'period',
      'plugin',
      'stops',
      'anomalies',
      'state',
      'orders',
      'broker',
      'protection',
      'equity',
    ])
      expect(demoText).toMatch(new RegExp(`^  ${heading} +\\S`, 'm'));
    expect(demoText).toMatch(/protective fills booked (\d+) \(broker's own record: \1 executions\)/);
    expect(demo.brokerFills).toBe(demo.brokerExecutions);
    expect(demoText).toMatch(/^ {2}protection {6}converged: \d+ converged, 0 pending, 0 unprotected$/m);
    expect(demo.converged).toBe(true);
    expect(demoText).toMatch(/^ {2}equity {10}starting 1000000, final \d+/m);
    expect(demo.startingEquity).toBe(1_000_000);
  });

  it('"the same data prints the same summary every run"', () => {
    expect(again).toBe(demoText);
  });

  it('the risk configuration the README states is what --print-config prints', async () => {
    expect(readme).toMatch(/warn at 1 %, reduce at 3 %, halt at 5 %, resume below 0\.8 % after 20 minutes/);
    const config = JSON.parse((await cli('replay', '--print-config')).out) as { drawdown: Record<string, number> };
    expect(config.drawdown).toEqual({
      warnAt: 0.01,
      reduceAt: 0.03,
      haltAt: 0.05,
      resumeBelow: 0.008,
      cooldownMs: 20 * 60_000,
    });
  });

  it('the pre-trade limits the README states are configured, bind, and show in the summary', async () => {
    expect(readme).toMatch(
      /gross exposure at most 3 000 000 and 230 entries a session day; a daily loss limit of 4 % from sessions starting 14:30Z/,
    );
    const config = JSON.parse((await cli('replay', '--print-config')).out) as Record<string, unknown>;
    expect(config['preTrade']).toEqual({ maxGrossExposure: 3_000_000, maxOrdersPerDay: 230 });
    expect(config['protections']).toEqual({ dailyLossLimit: { fraction: 0.04 }, sessionStart: '14:30Z' });
    // The entry cap binds: exactly 230 entries allowed (and filled: market orders), the rest of
    // the last pre-crash round denied with its code.
    expect(demo.plugin.orders.allowed).toBe(230);
    expect(demo.summary.ordersFilled).toBe(230);
    expect(demo.summary.deniedByCode['DAILY_ORDER_LIMIT']).toBeGreaterThan(0);
    expect(demo.summary.deniedByCode['GROSS_EXPOSURE_LIMIT']).toBeGreaterThan(0);
    expect(demo.limits.exposure?.ordersToday).toBe(230);
    expect(demoText).toMatch(/^ {2}orders .*GROSS_EXPOSURE_LIMIT \d+, DAILY_ORDER_LIMIT \d+/m);
    // Every position is flat at the end (each was stopped out), so the session's loss is the
    // equity lost since the start — counted here from the summary's two equities.
    expect(demo.limits.exposure?.grossExposure).toBe(0);
    const lost = demo.startingEquity - demo.summary.finalEquity;
    expect(demo.limits.dailyLoss?.limit).toBeCloseTo(0.04 * demo.startingEquity, 9);
    expect(demo.limits.dailyLoss?.loss).toBeCloseTo(lost, 6);
    expect(demo.limits.dailyLoss?.tripped).toBe(false);
    expect(demoText).toMatch(/^ {2}limits {10}exposure gross \/ net at the end: 0 \/ 0$/m);
    expect(demoText).toContain(`the session's loss / its limit: ${lost.toFixed(0)} / 40000`);
  });
});
