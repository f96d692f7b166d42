import { spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { startSimBroker } from '../../src/testing/sim-broker.js';
import type { ReplayReport } from '../../src/cli/replay.js';
import { OrderJournal } from '../../src/egress/order-journal.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const KEY = 'shutdown-key';
const SECRET = 'shutdown-secret';
const SYMBOLS = 20;

async function writeData(dir: string): Promise<string> {
  const lines = ['timestamp,symbol,open,high,low,close,volume'];
  for (let t = 0; t < 12; t++) {
    for (let s = 0; s < SYMBOLS; s++) {
      const p = (50 + s) * (1 + 0.002 * t);
      lines.push(
        `${new Date(Date.parse('2026-03-02T14:30:00Z') + t * 60_000).toISOString()},S${s},${p},${p * 1.001},${p * 0.999},${p * 1.0005},1000`,
      );
    }
  }
  const path = join(dir, 'bars.csv');
  await writeFile(path, `${lines.join('\n')}\n`);
  return path;
}

/** `bulwark replay` as its own process; resolves with its exit code, stdout and stderr. */
function replay(
  args: readonly string[],
  whileRunning?: () => void,
): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/bulwark.ts', 'replay', ...args], {
    cwd: ROOT,
    env: { ...process.env, BULWARK_API_KEY: KEY, BULWARK_API_SECRET: SECRET },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const timer = whileRunning === undefined ? undefined : setInterval(whileRunning, 2);
  return new Promise((resolve) =>
    child.on('exit', (code) => {
      clearInterval(timer);
      resolve({ code, out, err });
    }),
  );
}

const lastJson = (out: string) => JSON.parse(out.trim().split('\n').pop() as string) as ReplayReport;

describe('shutdown: drain until the broker holds the stops, or say so', () => {
  it('an unconverged end is printed, journaled as pending and exits 6; the next start restores it and converges', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bulwark-shutdown-'));
    const data = await writeData(dir);
    const broker = await startSimBroker({
      apiKey: KEY,
      apiSecret: SECRET,
      ordersPerSecond: 5,
      faults: { latencyMs: [1, 5] },
    });
    try {
      const stateDir = join(dir, 'state');
      // 20 stops at 5 orders a second cannot rest within a drain of 0 ms.
      const first = await replay([
        '--data',
        data,
        '--broker',
        broker.url,
        '--speed',
        '1000000',
        '--drain-ms',
        '0',
        '--state-dir',
        stateDir,
        '--json',
      ]);
      expect(first.code, first.err).toBe(6);
      expect(first.err).toContain('UNCONVERGED');
      const r1 = lastJson(first.out);
      expect(r1.converged).toBe(false);
      expect(r1.protection.pending + r1.protection.unprotected).toBeGreaterThan(0);
      expect(r1.stops.some((s) => s.protection !== 'CONVERGED')).toBe(true);
      const journal = await OrderJournal.open(join(stateDir, 'journal.jsonl'));
      expect(journal.pendingStops().length).toBe(r1.protection.pending + r1.protection.unprotected);
      await journal.close();

      const second = await replay([
        '--data',
        data,
        '--broker',
        broker.url,
        '--speed',
        '1000000',
        '--drain-ms',
        '60000',
        '--state-dir',
        stateDir,
        '--json',
      ]);
      expect(second.code, second.err).toBe(0);
      expect(second.err).not.toMatch(/ENGINE_DISPOSED|Unhandled|uncaught/i);
      const r2 = lastJson(second.out);
      expect(r2.converged).toBe(true);
      // By the broker's record: each open position has exactly one live stop on the closing side,
      // for its size, at the plugin's price rounded to the 0.01 tick only toward the tighter side
      // (up for a long's SELL stop, down for a short's BUY stop).
      const live = broker.book.open().filter((o) => o.type === 'STOP_MARKET');
      for (const s of r2.stops) {
        const held = live.filter((o) => o.symbol === s.symbol);
        expect(held, s.symbol).toHaveLength(1);
        expect(held[0]?.side).toBe(s.side === 'LONG' ? 'SELL' : 'BUY');
        expect(held[0]?.quantity).toBe(s.quantity);
        const tighterBy =
          s.side === 'LONG' ? (held[0]?.stopPrice as number) - s.stop : s.stop - (held[0]?.stopPrice as number);
        expect(tighterBy, s.symbol).toBeGreaterThanOrEqual(0);
        expect(tighterBy, s.symbol).toBeLessThan(0.01);
      }
      expect(live).toHaveLength(r2.stops.length);
      // The broker never saw more than its limit in any sliding second, across both processes.
      expect(broker.maxInAnyWindow(1_000)).toBeLessThanOrEqual(5);
      const after = await OrderJournal.open(join(stateDir, 'journal.jsonl'));
      expect(after.pendingStops()).toEqual([]);
      await after.close();
    } finally {
      await broker.close();
    }
  }, 120_000);

  it('fills that arrive while the replay shuts down are handled or ignored, never an uncaught ENGINE_DISPOSED', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bulwark-shutdown-fills-'));
    const data = await writeData(dir);
    const broker = await startSimBroker({ apiKey: KEY, apiSecret: SECRET, ordersPerSecond: 200 });
    try {
      let price = 60;
      // While the process runs, the market falls through every stop, again and again: execution
      // reports keep arriving up to and through the process's exit.
      const result = await replay(
        [
          '--data',
          data,
          '--broker',
          broker.url,
          '--speed',
          '1000000',
          '--drain-ms',
          '2000',
          '--state-dir',
          join(dir, 'state'),
          '--json',
        ],
        () => {
          price = price > 1 ? price * 0.999 : 60;
          for (let s = 0; s < SYMBOLS; s++) broker.feedPrice(`S${s}`, price * (1 + s / 50));
        },
      );
      expect([0, 6], result.err).toContain(result.code);
      expect(result.err).not.toMatch(/ENGINE_DISPOSED|Unhandled|uncaught/i);
      expect(lastJson(result.out).summary.barsRead).toBe(SYMBOLS * 12);
    } finally {
      await broker.close();
    }
  }, 120_000);
});
