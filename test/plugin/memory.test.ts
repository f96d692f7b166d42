import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRiskPlugin } from '../../src/index.js';
import type { Bar, Position } from '../../src/vocabulary/market.js';
import type { ProtectiveCommand } from '../../src/vocabulary/orders.js';
import type { PluginContext } from '../../src/vocabulary/services.js';
import { gaussian, rng } from '../helpers/random.js';
import { MIN, T0 } from './helpers.js';

// Needs `--expose-gc` in the test workers (vitest.config.ts `test.execArgv`).

const SYMBOLS = 1_000;
const BARS_PER_DAY = 1_440;
const MB = 2 ** 20;
/** Minutes a stopped-out symbol stays flat before it is re-entered on the other side. */
const FLAT_MINUTES = 30;

afterEach(() => vi.restoreAllMocks());

/** Forces full collections until heapUsed settles; returns it. */
async function retainedHeap(): Promise<number> {
  const gc = globalThis.gc;
  if (gc === undefined)
    throw new Error('global.gc is not exposed: run the test workers with --expose-gc (vitest.config.ts test.execArgv)');
  let last = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 10; i++) {
    await new Promise<void>((resolve) => setImmediate(resolve)); // let pending promise chains finish first
    gc();
    const used = process.memoryUsage().heapUsed;
    if (i >= 3 && Math.abs(used - last) < 64 * 1024) return used;
    last = used;
  }
  return last;
}

/**
 * A trading day's worth of host activity around the plugin, kept in fixed-size state (prices,
 * the open book, the time a symbol went flat) so that the test itself retains nothing that
 * grows with the number of bars.
 */
function market(seed: number) {
  const next = rng(seed);
  const symbols = Array.from({ length: SYMBOLS }, (_, i) => `M${i.toString().padStart(4, '0')}`);
  const price = Float64Array.from({ length: SYMBOLS }, () => 20 + 180 * next());
  const open = new Map<string, Position>();
  const flatSince = new Float64Array(SYMBOLS).fill(Number.NEGATIVE_INFINITY);
  let entries = 0;
  let long = true;
  return {
    symbols,
    open,
    /** One bar per symbol at `timestamp`: a geometric random walk, ~3 bp a minute, 0.4-0.8 % range. */
    batch(timestamp: number): Bar[] {
      const out = new Array<Bar>(SYMBOLS);
      for (let s = 0; s < SYMBOLS; s++) {
        const o = price[s] as number;
        const c = o * Math.exp(0.0003 * gaussian(next));
        price[s] = c;
        const high = Math.max(o, c) * (1 + 0.002 + 0.002 * next());
        const low = Math.min(o, c) * (1 - 0.002 - 0.002 * next());
        out[s] = {
          symbol: symbols[s] as string,
          timestamp,
          open: o,
          high,
          low,
          close: c,
          volume: Math.round(1_000 * Math.exp(0.3 * gaussian(next))),
        };
      }
      return out;
    },
    /** Symbols flat for FLAT_MINUTES (or never opened) that may be entered at `timestamp`. */
    *entryCandidates(timestamp: number): Generator<number> {
      for (let s = 0; s < SYMBOLS; s++) {
        if (!open.has(symbols[s] as string) && timestamp - (flatSince[s] as number) >= FLAT_MINUTES * MIN) yield s;
      }
    },
    enter(s: number, timestamp: number): Position {
      long = !long;
      const p: Position = {
        symbol: symbols[s] as string,
        side: long ? 'LONG' : 'SHORT',
        quantity: 100,
        entryPrice: price[s] as number,
        openedAt: timestamp,
      };
      open.set(p.symbol, p);
      entries++;
      return p;
    },
    exit(symbol: string, timestamp: number): void {
      open.delete(symbol);
      flatSince[symbols.indexOf(symbol)] = timestamp;
    },
    priceOf(symbol: string): number {
      return price[symbols.indexOf(symbol)] as number;
    },
    get entries() {
      return entries;
    },
  };
}

describe('RiskPlugin retained memory', () => {
  it('replaying 1000 symbols x 1440 one-minute bars twice, the retained heap after day 2 is within 5 MB of after day 1', async () => {
    const m = market(20260302);
    const clock = { now: T0 };
    // Commands the plugin sent during the current batch; emptied every batch.
    const closes: ProtectiveCommand[] = [];
    const context: PluginContext = {
      now: () => clock.now,
      portfolio: { positions: () => Promise.resolve([...m.open.values()]) },
      orders: {
        send: (c) => {
          if (c.kind === 'CLOSE_POSITION') closes.push(c);
          return Promise.resolve({ ok: true, clientOrderId: c.clientOrderId });
        },
        openOrders: () => Promise.resolve([]),
      },
    };
    const plugin = createRiskPlugin({
      limits: { maxSymbols: SYMBOLS, maxPositions: SYMBOLS },
      stops: {
        mode: 'LOCAL',
        atrPeriod: 14,
        policy: {
          rules: [
            { kind: 'ATR', multiple: 3 },
            { kind: 'CHANDELIER', multiple: 3 },
          ],
        },
      },
    });
    // The plugin's kernel instance is private: watch its WebAssembly.Memory being created.
    const instantiate = vi.spyOn(WebAssembly, 'instantiate');
    await plugin.onInit(context);
    expect(instantiate).toHaveBeenCalledTimes(1);
    const created = (await instantiate.mock.results[0]?.value) as
      WebAssembly.Instance | WebAssembly.WebAssemblyInstantiatedSource;
    instantiate.mockRestore();
    const memory = ('instance' in created ? created.instance : created).exports['memory'];
    if (!(memory instanceof WebAssembly.Memory)) throw new Error('the kernel instance exports no memory');
    const events = { count: 0 };
    plugin.subscribe(() => events.count++);

    let fills = 0;
    let timestamp = T0 - MIN;
    const day = async (): Promise<void> => {
      for (let b = 0; b < BARS_PER_DAY; b++) {
        clock.now = timestamp += MIN;
        await plugin.onBars(m.batch(timestamp));
        await new Promise<void>((resolve) => setImmediate(resolve)); // the coalescer sends the closes
        for (const c of closes) {
          if (c.kind !== 'CLOSE_POSITION') continue;
          plugin.onFill({
            fillId: `f${++fills}`,
            orderId: c.clientOrderId,
            symbol: c.symbol,
            side: c.side,
            quantity: c.quantity,
            price: m.priceOf(c.symbol),
            timestamp,
          });
          m.exit(c.symbol, timestamp);
        }
        closes.length = 0;
        for (const s of m.entryCandidates(timestamp)) {
          const p = m.enter(s, timestamp);
          const d = plugin.beforeOrder({
            clientOrderId: `e${m.entries}`,
            symbol: p.symbol,
            side: p.side === 'LONG' ? 'BUY' : 'SELL',
            quantity: p.quantity,
            type: 'MARKET',
            intent: 'ENTRY',
          });
          if (!d.allow) throw new Error(`entry denied: ${d.code} ${d.message}`);
        }
        plugin.onPortfolio({
          timestamp,
          equity: 10_000_000 * (1 + 0.001 * Math.sin(b / 97)),
          positions: [...m.open.values()],
        });
      }
    };

    await day();
    const heap1 = await retainedHeap();
    const wasm1 = memory.buffer.byteLength;
    const s1 = plugin.stats();

    await day();
    const heap2 = await retainedHeap();
    const wasm2 = memory.buffer.byteLength;
    const s2 = plugin.stats();

    const report = {
      heapDay1MB: +(heap1 / MB).toFixed(2),
      heapDay2MB: +(heap2 / MB).toFixed(2),
      deltaMB: +((heap2 - heap1) / MB).toFixed(3),
      wasmBytes: [wasm1, wasm2],
      stops: s2.stops,
      entries: m.entries,
      events: events.count,
    };
    console.log(`plugin memory over two days: ${JSON.stringify(report)}`);

    // The run did what it claims: every bar accepted, positions and stops churned on both days.
    expect(s2.bars).toMatchObject({
      received: 2 * SYMBOLS * BARS_PER_DAY,
      accepted: 2 * SYMBOLS * BARS_PER_DAY,
      rejected: 0,
    });
    expect(s2.rejections).toEqual({});
    expect(s1.stops.triggered).toBeGreaterThan(0);
    expect(s2.stops.triggered).toBeGreaterThan(s1.stops.triggered);
    expect(s2.positions).toBeGreaterThan(SYMBOLS / 2);
    expect(s2.state).toBe('ACTIVE');

    expect(Math.abs(heap2 - heap1)).toBeLessThanOrEqual(5 * MB);
    expect(wasm2).toBe(wasm1);
    await plugin.onDispose();
  });
});
