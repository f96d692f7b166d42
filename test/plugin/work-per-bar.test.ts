/**
 * A bar's cost follows the bars received, not the configured universe: counted with the bar
 * path's work counter (ATR symbol-updates, stale slots scanned, correlation pair-updates),
 * never timed. Before the slot-wise kernels every bar cost 2 × maxSymbols ATR updates and a
 * stale scan of every symbol.
 */
import { describe, expect, it } from 'vitest';
import { createRiskPlugin, type RiskPlugin } from '../../src/index.js';
import type { Bar } from '../../src/vocabulary/market.js';
import { bar, fakeContext, MIN, T0 } from './helpers.js';
import { rng } from '../helpers/random.js';

/** A plugin over `maxSymbols` slots fed `symbols` symbols, one bar per call; its work per bar over the last `measured` slices. */
async function workPerBar(maxSymbols: number, symbols: number, warmup: number, measured: number): Promise<number> {
  const clock = { now: T0 };
  const { context } = fakeContext({ now: () => clock.now });
  const plugin: RiskPlugin = createRiskPlugin({
    limits: { maxSymbols, maxPositions: maxSymbols },
    // atrPeriod ≠ the detector's short ATR (14): the stops keep a bank of their own, counted too.
    stops: { mode: 'LOCAL', atrPeriod: 10, policy: { rules: [{ kind: 'CHANDELIER', multiple: 3 }] } },
  });
  await plugin.onInit(context);
  const next = rng(symbols);
  const price = Array.from({ length: symbols }, () => 20 + 80 * next());
  let before = 0;
  let bars = 0;
  for (let t = 0; t < warmup + measured; t++) {
    if (t === warmup) before = plugin.work;
    clock.now = T0 + t * MIN + 1_000;
    for (let s = 0; s < symbols; s++) {
      price[s] = (price[s] as number) * Math.exp(0.002 * (next() - 0.5));
      const b: Bar = bar(`S${s}`, T0 + t * MIN, price[s] as number, 0.003);
      await plugin.onBar(b);
      if (t >= warmup) bars++;
    }
  }
  const work = (plugin.work - before) / bars;
  await plugin.onDispose();
  return work;
}

describe('work per onBar', () => {
  it('is the same for the same 40 symbols whether maxSymbols is 100 or 10 000', async () => {
    const small = await workPerBar(100, 40, 20, 30);
    const large = await workPerBar(10_000, 40, 20, 30);
    expect(small).toBeGreaterThan(0);
    expect(large).toBe(small);
  }, 60_000);

  it('does not grow with the universe fed: 5 000 symbols cost no more per bar than 100 (the stale scan and the correlation update are spread over the bars)', async () => {
    const small = await workPerBar(100, 100, 10, 12);
    const large = await workPerBar(5_000, 5_000, 10, 12);
    // 3 ATR updates per bar (two regime banks, the stops' own) plus amortised scans and pairs.
    expect(small).toBeLessThan(20);
    expect(large).toBeLessThan(1.5 * small);
  }, 120_000);
});
