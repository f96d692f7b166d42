import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { startSimBroker, type SimBroker } from '../../src/testing/sim-broker.js';
import type { ReplayReport } from '../../src/cli/replay.js';
import { DeadLetterQueue } from '../../src/egress/dead-letter-queue.js';
import { OrderJournal } from '../../src/egress/order-journal.js';
import { mulberry32 } from '../../src/util/prng.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const KEY = 'crash-key';
const SECRET = 'crash-secret';
const SYMBOLS = 8;
const BARS = 40;
const RUNS = 20;

/** A small deterministic market (drifting up, so long stops trail and amends flow). */
async function writeData(dir: string): Promise<string> {
  const random = mulberry32(99);
  const lines = ['timestamp,symbol,open,high,low,close,volume'];
  const price = Array.from({ length: SYMBOLS }, (_, s) => 50 + 10 * s);
  for (let t = 0; t < BARS; t++) {
    for (let s = 0; s < SYMBOLS; s++) {
      const open = price[s] as number;
      const close = open * (1 + 0.004 * (random() - 0.3));
      price[s] = close;
      const high = Math.max(open, close) * 1.002;
      const low = Math.min(open, close) * 0.998;
      lines.push(`${1_772_461_800_000 + t * 60_000},S${s},${open},${high},${low},${close},${1_000 + t}`);
    }
  }
  const path = join(dir, 'bars.csv');
  await writeFile(path, `${lines.join('\n')}\n`);
  return path;
}

interface Child {
  readonly exited: Promise<number | null>;
  readonly output: () => string;
  kill(): void;
}

function replay(data: string, url: string, stateDir: string): Child {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'src/cli/bulwark.ts',
      'replay',
      '--data',
      data,
      '--broker',
      url,
      '--speed',
      '1000000',
      '--state-dir',
      stateDir,
      '--json',
    ],
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
    exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))),
    output: () => out,
    kill: () => child.kill('SIGKILL'),
  };
}

/** Order requests (place/amend/cancel) the broker has counted so far. */
const requests = (b: SimBroker) => [...b.requestsPerSecond.values()].reduce((a, n) => a + n, 0);

/** Resolves when `done()` holds, checked every 5 ms (a child process is watched from outside); fails after `ms`. */
async function until(done: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('crash safety: SIGKILL during order egress, then restart', () => {
  it(`${RUNS} seeded runs: stops accepted before the kill are adopted after it, none is placed twice, none is lost, placements lost in flight are not re-sent stale, journal and dead letters intact`, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bulwark-crash-'));
    const data = await writeData(dir);
    const killAt = mulberry32(2026);
    let lostInFlight = 0;
    let adopted = 0;
    for (let run = 0; run < RUNS; run++) {
      const broker = await startSimBroker({
        apiKey: KEY,
        apiSecret: SECRET,
        ordersPerSecond: 60,
        seed: run + 1,
        faults: { latencyMs: [1, 10] },
      });
      try {
        const stateDir = join(dir, `run-${run}`);
        // Kill after a seeded number of order requests reached the broker: from the first
        // placements to deep in the amends.
        const drawn = 1 + Math.floor(killAt() * 30);
        // Every fourth run, the connection goes half-open right after the first order request
        // (the broker serves it, then receives nothing more), and the kill waits until every
        // placement is journaled: the others are certainly in flight at the kill, journaled but
        // never received.
        const stalls = run % 4 === 0;
        if (stalls) broker.stallAfter(1);
        const first = replay(data, broker.url, stateDir);
        if (stalls) {
          const journalPath = join(stateDir, 'journal.jsonl');
          await until(() => {
            const text = existsSync(journalPath) ? readFileSync(journalPath, 'utf8') : '';
            return (text.match(/"t":"INTENT","command":\{"kind":"PLACE_STOP"/g) ?? []).length >= SYMBOLS;
          }, 30_000);
        } else await until(() => requests(broker) >= drawn || first.output().includes('"summary"'), 30_000);
        first.kill();
        await first.exited;
        await new Promise((r) => setImmediate(r)); // frames already received are handled
        const restingAtKill = broker.book.open().filter((o) => o.type === 'STOP_MARKET');
        // Placements journaled as intents that never reached the broker: the restart asks the
        // broker about them and, finding nothing, leaves the stop to the reconciler, which places
        // what the plugin wants now (a stale copy of an old decision is never re-sent).
        const before = await OrderJournal.open(join(stateDir, 'journal.jsonl'));
        const neverArrived = before
          .inDoubt()
          .filter((c) => c.kind === 'PLACE_STOP' && broker.book.get(c.clientOrderId) === undefined);
        await before.close();

        const second = replay(data, broker.url, stateDir);
        expect(await second.exited, second.output()).toBe(0);
        const report = JSON.parse(second.output().trim().split('\n').pop() as string) as ReplayReport;

        // Every stop resting at the broker when the process died was adopted, not replaced.
        expect(report.restoredStops, `run ${run}`).toBe(new Set(restingAtKill.map((o) => o.symbol)).size);
        for (const o of restingAtKill)
          expect(broker.book.get(o.clientOrderId)?.status, `run ${run} ${o.clientOrderId}`).toBe('NEW');
        for (const o of neverArrived)
          expect(broker.book.get(o.clientOrderId), `run ${run} ${o.clientOrderId}`).toBeUndefined();
        // A stalled run served one placement of eight: the others were journaled, never received.
        if (stalls) expect(neverArrived.length, `run ${run}`).toBeGreaterThan(0);
        lostInFlight += neverArrived.length;
        expect(report.converged, `run ${run}`).toBe(true);
        adopted += report.restoredStops;
        // At the end: each position has exactly one live stop at the broker, at the plugin's price.
        const live = broker.book.open().filter((o) => o.type === 'STOP_MARKET');
        expect(report.stops).toHaveLength(SYMBOLS);
        for (const stop of report.stops) {
          const atBroker = live.filter((o) => o.symbol === stop.symbol);
          expect(atBroker, `run ${run} ${stop.symbol}`).toHaveLength(1);
          // At the plugin's price, rounded to the replay's 0.01 tick only toward the tighter side
          // (these are long positions: up), and for the position's size.
          const held = atBroker[0]?.stopPrice as number;
          expect(held, `run ${run} ${stop.symbol}`).toBeGreaterThanOrEqual(stop.stop);
          expect(held - stop.stop, `run ${run} ${stop.symbol}`).toBeLessThan(0.01);
          expect(atBroker[0]?.quantity).toBe(stop.quantity);
          expect(stop.protection).toBe('CONVERGED');
        }
        expect(live).toHaveLength(SYMBOLS);
        // The limit announced at logon held in every sliding second of the broker's receive
        // times, across the kill and the restart (the new process waits one window first).
        expect(broker.maxInAnyWindow(1_000), `run ${run}`).toBeLessThanOrEqual(60);
        expect(report.inDoubt).toBe(0);
        // By the broker's own records: nothing executed during the runs (no prices were fed);
        // now the market falls through every stop, and each position is closed exactly once —
        // a duplicate protective order would execute twice and flip the position.
        expect(broker.executions).toHaveLength(0);
        for (let sym = 0; sym < SYMBOLS; sym++) broker.feedPrice(`S${sym}`, 1);
        const perSymbol = new Map<string, number>();
        const perId = new Map<string, number>();
        for (const e of broker.executions) {
          perSymbol.set(e.symbol, (perSymbol.get(e.symbol) ?? 0) + 1);
          perId.set(e.clientOrderId, (perId.get(e.clientOrderId) ?? 0) + 1);
        }
        expect([...perSymbol.values()]).toEqual(Array.from({ length: SYMBOLS }, () => 1));
        expect(Math.max(...perId.values())).toBe(1);
        // The journal and dead-letter queue read back; at most a torn last line from the kill.
        const journal = await OrderJournal.open(join(stateDir, 'journal.jsonl'));
        const dlq = await DeadLetterQueue.open(join(stateDir, 'dlq.jsonl'));
        expect(journal.corrupt).toBeLessThanOrEqual(1);
        expect(dlq.corrupt).toBe(0);
        expect(dlq.size).toBe(0);
        expect(journal.inDoubt()).toHaveLength(0);
        await journal.close();
        await dlq.close();
      } finally {
        await broker.close();
      }
    }
    // The seeded kill points do cover both cases: stops resting at the kill, and placements lost in flight.
    expect(adopted).toBeGreaterThan(RUNS);
    expect(lostInFlight).toBeGreaterThanOrEqual(5);
  }, 300_000);
});
