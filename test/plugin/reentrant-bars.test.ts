/**
 * A host may deliver bars from inside the plugin's own callbacks (an event listener that feeds
 * the next bar, a send that answers with market data). The single-bar fast path runs a
 * delivery before the call returns: a delivery arriving meanwhile must wait behind it (queued,
 * as while a batch is processed) and be processed right after, never mixed into the batch
 * being processed.
 */
import { describe, expect, it } from 'vitest';
import { createRiskPlugin } from '../../src/index.js';
import type { RiskEvent } from '../../src/plugin/risk-events.js';
import { bar, fakeContext, MIN, T0 } from './helpers.js';

/** Wilder ATR(2) of bars with these closes and the helper's ±1 % range. */
function wilder2(closes: number[]): number {
  let atr = Number.NaN;
  let prev = Number.NaN;
  const trs: number[] = [];
  for (const c of closes) {
    const h = c * 1.01;
    const l = c * 0.99;
    const tr = Number.isNaN(prev) ? h - l : Math.max(h, prev) - Math.min(l, prev);
    trs.push(tr);
    if (trs.length === 2) atr = (trs[0]! + trs[1]!) / 2;
    else if (trs.length > 2) atr = (atr + tr) / 2;
    prev = c;
  }
  return atr;
}

describe('bars delivered from inside a delivery', () => {
  it('a listener that feeds a bar while one is processed: both processed, in order, each once, and its promise resolves after its bar', async () => {
    const clock = { now: T0 };
    const { context } = fakeContext({ now: () => clock.now });
    const plugin = createRiskPlugin({
      limits: { maxSymbols: 8, maxPositions: 8 },
      stops: { atrPeriod: 2 },
      anomaly: { staleAfterMs: 2 * MIN },
    });
    await plugin.onInit(context);
    for (let t = 0; t < 3; t++) {
      clock.now = T0 + t * MIN;
      await plugin.onBars([bar('AAA', T0 + t * MIN, 100 + t), bar('BBB', T0 + t * MIN, 50 + t)]);
    }
    // BBB goes quiet; at the next AAA bar it is reported stale, and the listener answers that
    // report by delivering BBB's late bar from inside the delivery.
    let inner: Promise<void> | undefined;
    let innerDone = false;
    plugin.subscribe((e: RiskEvent) => {
      if (e.kind === 'ANOMALY_DETECTED' && e.anomaly.type === 'STALE_FEED' && inner === undefined) {
        inner = plugin.onBar(bar('BBB', T0 + 6 * MIN, 55)).then(() => {
          innerDone = true;
        });
      }
    });
    clock.now = T0 + 6 * MIN;
    await plugin.onBar(bar('AAA', T0 + 6 * MIN, 106));
    expect(inner).toBeDefined();
    await inner;
    expect(innerDone).toBe(true);
    const s = plugin.stats();
    expect(s.bars.accepted).toBe(8); // 6 + AAA + BBB: neither lost nor taken twice
    expect(s.bars.rejected).toBe(0);
    // Each symbol's ATR(2) took exactly its own bars, once each (Wilder, written out here).
    expect(plugin.atrOf('AAA')).toBeCloseTo(wilder2([100, 101, 102, 106]), 12);
    expect(plugin.atrOf('BBB')).toBeCloseTo(wilder2([50, 51, 52, 55]), 12);
    // BBB's bar reached the stale detector: it is fresh again, so a later check reports nothing new.
    const before = s.anomalies['STALE_FEED'] ?? 0;
    clock.now = T0 + 7 * MIN;
    await plugin.onBar(bar('AAA', T0 + 7 * MIN, 107));
    expect(plugin.stats().anomalies['STALE_FEED'] ?? 0).toBe(before);
    await plugin.onDispose();
  });
});
