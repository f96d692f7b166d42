/**
 * A feed that delivers bars one per call (`onBar`) and one that delivers each time slice as a
 * batch (`onBars`) must leave the plugin in the same place: the same stops (prices, versions,
 * status), the same ATRs, the same anomalies, the same commands and the same pre-trade
 * decisions, slice after slice. Random bar streams with bad ticks (held, then reverted or
 * confirmed), records the validator refuses, symbols that go stale and come back, and jumps
 * that fire the regime detector's TIGHTEN_STOPS between bars; BAD_TICK (of a refused record
 * too) and VOLUME_SPIKE tighten every stop as well, so where each lands shows in the stops.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRiskPlugin, type RiskPlugin } from '../../src/index.js';
import type { RiskEvent } from '../../src/plugin/risk-events.js';
import type { Bar, Position } from '../../src/vocabulary/market.js';
import { fakeContext, MIN, order, T0 } from './helpers.js';
import { rng } from '../helpers/random.js';

interface Stream {
  readonly symbols: readonly string[];
  /** Per slice: the records delivered, in delivery order (some malformed). */
  readonly slices: readonly (readonly unknown[])[];
}

/** A random stream: geometric walks, with bad ticks, jumps, gaps, malformed records and shuffled order. */
function stream(seed: number, nSymbols: number, nSlices: number): Stream {
  const next = rng(seed);
  const symbols = Array.from({ length: nSymbols }, (_, i) => `S${i}`);
  const price = symbols.map(() => 20 + 80 * next());
  const gapUntil = symbols.map(() => -1);
  const slices: unknown[][] = [];
  for (let t = 0; t < nSlices; t++) {
    const ts = T0 + t * MIN;
    const recs: unknown[] = [];
    for (let s = 0; s < nSymbols; s++) {
      if (t > 40 && gapUntil[s] === -1 && next() < 0.004) gapUntil[s] = t + 3 + Math.floor(next() * 6); // goes stale
      if (t <= (gapUntil[s] as number)) continue;
      const u = next();
      const prev = price[s] as number;
      let close = prev * Math.exp(0.004 * (next() - 0.5));
      if (u < 0.01) close = prev * (next() < 0.5 ? 1.25 : 0.8); // a jump that stays (confirmed spike, regime)
      price[s] = close;
      let shown = close;
      if (u > 0.99) shown = close * 10; // a bad tick: the next bar reverts to the walk
      const range = 0.002 + 0.01 * next();
      const bar: Bar = {
        symbol: symbols[s] as string,
        timestamp: ts,
        open: prev,
        high: Math.max(prev, shown) * (1 + range),
        low: Math.min(prev, shown) * (1 - range),
        close: shown,
        volume: Math.round(1_000 * Math.exp(next() - 0.5) * (next() < 0.01 ? 20 : 1)),
      };
      recs.push(next() < 0.005 ? { ...bar, high: bar.low * 0.99 } : bar); // now and then one the validator refuses
    }
    // Delivery order within a slice varies.
    for (let i = recs.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [recs[i], recs[j]] = [recs[j], recs[i]];
    }
    slices.push(recs);
  }
  return { symbols, slices };
}

const CONFIG = {
  limits: { maxSymbols: 64, maxPositions: 64 },
  stops: {
    mode: 'LOCAL' as const,
    atrPeriod: 5,
    policy: {
      rules: [
        { kind: 'ATR' as const, multiple: 2 },
        { kind: 'CHANDELIER' as const, multiple: 2.5 },
      ],
    },
  },
  anomaly: {
    spikeWindow: 20,
    minSamples: 10,
    atrShortPeriod: 4,
    atrLongPeriod: 16,
    regimeRatio: 1.6,
    regimeRearmRatio: 1.2,
    correlationSymbols: 64,
    correlationWindow: 12,
    baselineWindow: 20,
    breakThreshold: 0.25,
    breakRearm: 0.1,
    staleAfterMs: 3 * MIN,
    // Actions that act on every stop, so when they land between bars shows in the stops.
    actions: { BAD_TICK: ['TIGHTEN_STOPS' as const], VOLUME_SPIKE: ['TIGHTEN_STOPS' as const] },
  },
};

interface Side {
  readonly plugin: RiskPlugin;
  readonly sent: unknown[];
  readonly events: string[];
  readonly clock: { now: number };
}

async function start(symbols: readonly string[], first: readonly unknown[]): Promise<Side> {
  const clock = { now: T0 };
  const { context, sent } = fakeContext({ now: () => clock.now });
  const plugin = createRiskPlugin(CONFIG);
  await plugin.onInit(context);
  const events: string[] = [];
  plugin.subscribe((e: RiskEvent) => {
    if (e.kind === 'ANOMALY_DETECTED' || e.kind === 'STATE_CHANGED') events.push(JSON.stringify(e));
  });
  await plugin.onBars(first as Bar[]);
  const positions: Position[] = [];
  for (const rec of first) {
    const b = rec as Bar;
    if (!(b.low <= b.close && b.close <= b.high)) continue;
    const i = symbols.indexOf(b.symbol);
    positions.push({
      symbol: b.symbol,
      side: i % 3 === 2 ? 'SHORT' : 'LONG',
      quantity: 10,
      entryPrice: b.close,
      openedAt: T0,
    });
  }
  plugin.onPortfolio({ timestamp: T0, equity: 1_000_000, positions });
  return { plugin, sent, events, clock };
}

/** What must agree after each slice; events compared as a multiset (a batch reports its round's events together). */
function state(side: Side, symbols: readonly string[]) {
  const p = side.plugin;
  const j = p.toJSON();
  return {
    stops: j.stops.map((v) => [v.symbol, v.side, v.quantity, v.stop, v.version, v.status]),
    atr: symbols.map((s) => p.atrOf(s)),
    events: [...side.events].sort(),
    // Client ids carry each instance's own random prefix: everything else must agree.
    sent: side.sent.map((c) => JSON.stringify({ ...(c as object), clientOrderId: undefined })),
    decisions: symbols.map((s) => p.beforeOrder(order({ clientOrderId: `q-${s}`, symbol: s }))),
    state: p.state,
    stats: { ...j.stats, transitions: undefined },
  };
}

describe('single bars and batches give the same plugin', () => {
  it('over random streams with bad ticks, jumps, refused records and stale symbols: stops, ATRs, anomalies, commands and decisions agree after every slice', async () => {
    let covered = { spikes: 0, badTicks: 0, regime: 0, stale: 0, rejected: 0, moved: 0, closes: 0 };
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 3, max: 12 }), async (seed, n) => {
        const { symbols, slices } = stream(seed, n, 160);
        const [first = [], ...rest] = slices;
        const batch = await start(symbols, first);
        const single = await start(symbols, first);
        try {
          for (let t = 0; t < rest.length; t++) {
            const recs = rest[t] as unknown[];
            const now = T0 + (t + 1) * MIN + 30_000;
            batch.clock.now = now;
            single.clock.now = now;
            await batch.plugin.onBars(recs as Bar[]);
            for (const r of recs) await single.plugin.onBar(r as Bar);
            await new Promise<void>((resolve) => setImmediate(resolve)); // commands handed to the host
            expect(state(single, symbols), `seed ${seed}, ${n} symbols, slice ${t + 1}`).toEqual(state(batch, symbols));
          }
          const s = batch.plugin.stats();
          covered = {
            spikes: covered.spikes + (s.anomalies['PRICE_SPIKE'] ?? 0),
            badTicks: covered.badTicks + (s.anomalies['BAD_TICK'] ?? 0),
            regime: covered.regime + (s.anomalies['VOLATILITY_REGIME'] ?? 0),
            stale: covered.stale + (s.anomalies['STALE_FEED'] ?? 0),
            rejected: covered.rejected + s.bars.rejected,
            moved: covered.moved + s.stops.moved,
            closes: covered.closes + batch.sent.length,
          };
        } finally {
          await batch.plugin.onDispose();
          await single.plugin.onDispose();
        }
      }),
      { numRuns: 25, seed: 16 },
    );
    // The streams did exercise what the property is about.
    for (const [what, count] of Object.entries(covered)) expect(count, what).toBeGreaterThan(0);
  }, 120_000);
});
