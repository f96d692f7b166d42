/**
 * `bulwark replay --venue binance --venue-url …` as a user runs it: the CLI in a child process
 * (real ccxt) against the simulated Binance spot API hosted by this test, judged by the
 * venue's own record. One clean run, then seeded kill -9s during the order flow, each followed
 * by a restart on the same state folder: the chain of cancel-replaced stops is adopted, never
 * duplicated, and every position ends with exactly one live stop at the plugin's price.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { ReplayReport } from '../../src/cli/replay.js';
import { DeadLetterQueue } from '../../src/egress/dead-letter-queue.js';
import { OrderJournal } from '../../src/egress/order-journal.js';
import { startSimBinance, type SimBinance, type SimBinanceSymbol } from '../../src/testing/sim-binance.js';
import { mulberry32 } from '../../src/util/prng.js';
import { cli } from '../cli/run-cli.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const KEY = 'venue-key';
const SECRET = 'venue-secret';
const SYMBOLS = 4;
const BARS = 40;
/** New orders per 1 s window the venue announces (and enforces). */
const PER_WINDOW = 20;
const LISTED: readonly SimBinanceSymbol[] = Array.from({ length: SYMBOLS }, (_, s) => ({
  symbol: `S${s}USDT`,
  baseAsset: `S${s}`,
  quoteAsset: 'USDT',
  tickSize: '0.01',
  stepSize: '1',
  minQty: '1',
  minNotional: '5',
}));

async function writeData(dir: string): Promise<string> {
  const random = mulberry32(7);
  const lines = ['timestamp,symbol,open,high,low,close,volume'];
  const price = Array.from({ length: SYMBOLS }, (_, s) => 500 + 100 * s);
  for (let t = 0; t < BARS; t++) {
    for (let s = 0; s < SYMBOLS; s++) {
      const open = price[s] ?? 500;
      const close = open * (1 + 0.004 * (random() - 0.3));
      price[s] = close;
      lines.push(
        `${1_772_461_800_000 + t * 60_000},S${s}USDT,${open},${Math.max(open, close) * 1.002},${Math.min(open, close) * 0.998},${close},${1_000 + t}`,
      );
    }
  }
  const path = join(dir, 'bars.csv');
  await writeFile(path, `${lines.join('\n')}\n`);
  return path;
}

function replay(data: string, venue: SimBinance, stateDir: string) {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'src/cli/bulwark.ts',
      'replay',
      '--data',
      data,
      '--venue',
      'binance',
      '--venue-url',
      venue.url,
    ].concat(['--speed', '1000000', '--state-dir', stateDir, '--json']),
    {
      cwd: ROOT,
      env: { ...process.env, BULWARK_API_KEY: KEY, BULWARK_API_SECRET: SECRET },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return {
    exited: new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code))),
    output: () => out,
    kill: () => child.kill('SIGKILL'),
  };
}

/** Most new orders the venue received in any sliding window of `ms`. */
function busiest(times: readonly number[], ms: number): number {
  let best = 0;
  let from = 0;
  for (let i = 0; i < times.length; i++) {
    while ((times[from] ?? 0) <= (times[i] ?? 0) - ms) from++;
    best = Math.max(best, i - from + 1);
  }
  return best;
}

async function until(done: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The checks after a run that exited: one live stop per position at the plugin's price, by the venue's record. */
function expectProtected(report: ReplayReport, venue: SimBinance, label: string): void {
  expect(report.converged, label).toBe(true);
  expect(report.stops, label).toHaveLength(SYMBOLS);
  const live = venue.open();
  expect(live, label).toHaveLength(SYMBOLS);
  for (const stop of report.stops) {
    const held = live.filter((o) => o.symbol === stop.symbol);
    expect(held, `${label} ${stop.symbol}`).toHaveLength(1);
    const o = held[0];
    // A long's stop rounds up to the 0.01 tick (tighter), never down; the size is the position's.
    expect(o?.stopPrice, `${label} ${stop.symbol}`).toBeGreaterThanOrEqual(stop.stop - 1e-9);
    expect((o?.stopPrice ?? 0) - stop.stop, `${label} ${stop.symbol}`).toBeLessThan(0.01);
    expect(o?.quantity, `${label} ${stop.symbol}`).toBe(stop.quantity);
    expect(o?.side).toBe('SELL');
  }
  // The venue's ORDERS window held across everything it received.
  expect(busiest(venue.orderTimes, 1_000), label).toBeLessThanOrEqual(PER_WINDOW);
  expect(report.inDoubt, label).toBe(0);
  expect(report.deadLetters, label).toBe(0);
}

describe('bulwark replay --venue binance (real ccxt, simulated Binance spot)', () => {
  it('usage: --venue-url without --venue, --venue with --broker, an unknown venue id, no credentials', async () => {
    const saved = [process.env['BULWARK_API_KEY'], process.env['BULWARK_API_SECRET']];
    process.env['BULWARK_API_KEY'] = KEY;
    process.env['BULWARK_API_SECRET'] = SECRET;
    try {
      const a = await cli('replay', '--venue-url', 'http://127.0.0.1:1');
      expect([a.code, a.err]).toEqual([2, expect.stringMatching(/--venue-url and --sandbox go with --venue/)]);
      const b = await cli('replay', '--venue', 'binance', '--broker', 'ws://127.0.0.1:1');
      expect([b.code, b.err]).toEqual([2, expect.stringMatching(/give one/)]);
      const venue = await startSimBinance({ apiKey: KEY, apiSecret: SECRET });
      try {
        const state = await mkdtemp(join(tmpdir(), 'bulwark-venue-usage-'));
        const c = await cli('replay', '--venue', 'nosuchvenue', '--venue-url', venue.url, '--state-dir', state);
        expect([c.code, c.err]).toEqual([2, expect.stringMatching(/UNKNOWN_VENUE|no exchange "nosuchvenue"/)]);
      } finally {
        await venue.close();
      }
      const refused = await cli('replay', '--venue', 'binance', '--venue-url', 'http://127.0.0.1:1');
      expect([refused.code, refused.err]).toEqual([4, expect.stringMatching(/connection refused/)]);
      const d = await cli('replay', '--venue', 'Bin/ance');
      expect([d.code, d.err]).toEqual([2, expect.stringMatching(/ccxt exchange id/)]);
      delete process.env['BULWARK_API_KEY'];
      const e = await cli('replay', '--venue', 'binance');
      expect([e.code, e.err]).toEqual([2, expect.stringMatching(/BULWARK_API_KEY/)]);
    } finally {
      if (saved[0] === undefined) delete process.env['BULWARK_API_KEY'];
      else process.env['BULWARK_API_KEY'] = saved[0];
      if (saved[1] === undefined) delete process.env['BULWARK_API_SECRET'];
      else process.env['BULWARK_API_SECRET'] = saved[1];
    }
  });

  it('a clean run: every position protected by one STOP_LOSS at the plugin’s price on the venue’s grid; stops trail by cancel-replace', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bulwark-venue-'));
    const data = await writeData(dir);
    const venue = await startSimBinance({
      apiKey: KEY,
      apiSecret: SECRET,
      symbols: LISTED,
      ordersPer10s: PER_WINDOW,
      ordersWindowSeconds: 1,
    });
    try {
      const run = replay(data, venue, join(dir, 'state'));
      expect(await run.exited, run.output()).toBe(0);
      const report = JSON.parse(run.output().trim().split('\n').pop() as string) as ReplayReport;
      expectProtected(report, venue, 'clean run');
      expect(report.stopCommands.amend).toBe(0);
      expect(report.stopCommands.replace).toBeGreaterThan(0);
      expect(report.stopCommands.place).toBe(SYMBOLS);
      // Each move is a new order at the venue: placements plus replaces, nothing else.
      expect(venue.orderTimes).toHaveLength(SYMBOLS + report.stopCommands.replace);
      expect(venue.authFailures).toBe(0);
    } finally {
      await venue.close();
    }
  }, 120_000);

  it('6 seeded kill -9s during the order flow, each with a restart: the chain is adopted, never duplicated; faults on the way', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bulwark-venue-crash-'));
    const data = await writeData(dir);
    const killAt = mulberry32(2027);
    let adopted = 0;
    let inDoubtAtKill = 0;
    let replacesInDoubt = 0;
    for (let run = 0; run < 6; run++) {
      const venue = await startSimBinance({
        apiKey: KEY,
        apiSecret: SECRET,
        symbols: LISTED,
        ordersPer10s: PER_WINDOW,
        ordersWindowSeconds: 1,
        faults: { unknownExecuted: 0.05, unknownNotExecuted: 0.05, dropReply: 0.05, latencyMs: [1, 5] },
        seed: run + 1,
      });
      try {
        const stateDir = join(dir, `run-${run}`);
        // A clean run sends about 8 new orders (4 placements, then cancel-replaces): kill points
        // are drawn among them. Every other run, answers are lost from the drawn order on,
        // past the placements: the process dies with a cancel-replace executed at the venue and
        // in doubt in its journal, by construction rather than by timing.
        const holds = run % 2 === 0;
        const r = killAt();
        const drawn = holds ? SYMBOLS + Math.floor(r * 3) : 1 + Math.floor(r * 7);
        if (holds) venue.holdAnswersAfter(drawn);
        const first = replay(data, venue, stateDir);
        await until(
          () => venue.orderTimes.length >= drawn + (holds ? 1 : 0) || first.output().includes('"summary"'),
          60_000,
        );
        first.kill();
        await first.exited;
        venue.holdAnswersAfter(Number.MAX_SAFE_INTEGER); // the restart is answered
        if (holds) {
          const before = await OrderJournal.open(join(stateDir, 'journal.jsonl'));
          const doubt = before.inDoubt();
          await before.close();
          expect(doubt.length, `run ${run}`).toBeGreaterThan(0);
          inDoubtAtKill += doubt.length;
          replacesInDoubt += doubt.filter((c) => c.kind === 'REPLACE_STOP').length;
        }
        const atKill = new Set(venue.open().map((o) => o.symbol));

        const second = replay(data, venue, stateDir);
        expect(await second.exited, second.output()).toBe(0);
        const report = JSON.parse(second.output().trim().split('\n').pop() as string) as ReplayReport;
        // Every symbol with a stop resting at the kill had it adopted (the chain's live link), not doubled.
        expect(report.restoredStops, `run ${run}`).toBe(atKill.size);
        adopted += report.restoredStops;
        expectProtected(report, venue, `run ${run}`);
        // Nothing executed during the runs; now the market falls through every stop: each
        // position is closed exactly once (a duplicate stop would execute twice).
        expect(venue.executions).toHaveLength(0);
        for (let s = 0; s < SYMBOLS; s++) venue.feedPrice(`S${s}USDT`, 1);
        const perSymbol = new Map<string, number>();
        for (const e of venue.executions) perSymbol.set(e.symbol, (perSymbol.get(e.symbol) ?? 0) + 1);
        expect([...perSymbol.values()], `run ${run}`).toEqual(Array.from({ length: SYMBOLS }, () => 1));
        const journal = await OrderJournal.open(join(stateDir, 'journal.jsonl'));
        const dlq = await DeadLetterQueue.open(join(stateDir, 'dlq.jsonl'));
        expect(journal.corrupt).toBeLessThanOrEqual(1);
        expect(journal.inDoubt()).toHaveLength(0);
        expect(dlq.size).toBe(0);
        await journal.close();
        await dlq.close();
      } finally {
        await venue.close();
      }
    }
    expect(adopted).toBeGreaterThan(0);
    console.log(
      `venue crash runs: ${adopted} stops adopted, ${inDoubtAtKill} intents in doubt at the kills (${replacesInDoubt} cancel-replaces)`,
    );
    expect(replacesInDoubt).toBeGreaterThan(0);
  }, 600_000);
});
