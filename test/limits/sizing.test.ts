/**
 * plugin.sizeOrder against the rule as the issue states it, written out here: quantity =
 * riskFraction × equity / |entry − stop|, capped by maxFractionOfEquity × equity / entry and by
 * every pre-trade limit, rounded down to the lot; a coded reason when no size is possible.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRiskPlugin, type RiskPluginConfig } from '../../src/index.js';
import type { Fill } from '../../src/vocabulary/market.js';
import { bar, fakeContext, MIN, order, T0 } from '../plugin/helpers.js';

afterEach(() => vi.useRealTimers());

async function plugin(config: RiskPluginConfig, equity?: number) {
  vi.useFakeTimers({ now: T0 });
  const p = createRiskPlugin({ stops: { lotSize: 1, ...config.stops }, ...config });
  await p.onInit(fakeContext().context);
  await p.onBars([bar('AAA', T0, 100), bar('BBB', T0, 50)]);
  if (equity !== undefined) p.onPortfolio({ timestamp: T0 + MIN, equity, positions: [] });
  return p;
}
const fill = (symbol: string, quantity: number, price: number): Fill => ({
  fillId: `f-${symbol}-${quantity}`,
  orderId: `x-${symbol}`,
  symbol,
  side: 'BUY',
  quantity,
  price,
  timestamp: T0,
});
/** The rule. */
const riskSize = (riskFraction: number, equity: number, entry: number, stop: number) =>
  (riskFraction * equity) / Math.abs(entry - stop);

describe('plugin.sizeOrder', () => {
  it('loses riskFraction of equity at the stop given: 1 % of 1 000 000 over a 5-point stop is 2 000', async () => {
    const p = await plugin({ sizing: { riskFraction: 0.01 } }, 1_000_000);
    expect(riskSize(0.01, 1_000_000, 100, 95)).toBe(2_000);
    expect(p.sizeOrder({ symbol: 'AAA', side: 'BUY', stopPrice: 95 })).toMatchObject({
      ok: true,
      quantity: 2_000,
      entryPrice: 100,
      stopPrice: 95,
      boundBy: 'RISK',
    });
    // A short's stop is above: 1 % over 2.5 points from 50.
    expect(p.sizeOrder({ symbol: 'BBB', side: 'SELL', stopPrice: 52.5 })).toMatchObject({ ok: true, quantity: 4_000 });
    // Rounded down to the lot.
    expect(p.sizeOrder({ symbol: 'AAA', side: 'BUY', stopPrice: 97 })).toMatchObject({
      quantity: Math.floor(riskSize(0.01, 1_000_000, 100, 97)),
    });
  });

  it('without a stop, the plugin’s own policy at the entry price; an ATR policy before its ATR is seeded gives INSUFFICIENT_DATA', async () => {
    const pct = await plugin(
      { sizing: { riskFraction: 0.01 }, stops: { policy: { rules: [{ kind: 'PERCENT', percent: 2 }] } } },
      1e6,
    );
    expect(pct.sizeOrder({ symbol: 'AAA', side: 'BUY' })).toMatchObject({ ok: true, stopPrice: 98, quantity: 5_000 });
    const atr = await plugin({ sizing: { riskFraction: 0.01 } }, 1e6); // the default chandelier (ATR)
    expect(atr.sizeOrder({ symbol: 'AAA', side: 'BUY' })).toMatchObject({ ok: false, code: 'INSUFFICIENT_DATA' });
    const noEquity = await plugin({ sizing: { riskFraction: 0.01 } });
    expect(noEquity.sizeOrder({ symbol: 'AAA', side: 'BUY', stopPrice: 95 })).toMatchObject({
      ok: false,
      code: 'INSUFFICIENT_DATA',
    });
    expect(noEquity.sizeOrder({ symbol: 'NEW', side: 'BUY', stopPrice: 95 })).toMatchObject({ ok: false });
  });

  it('capped by maxFractionOfEquity and by every pre-trade limit; the size it gives passes beforeOrder, one lot more does not', async () => {
    const capped = await plugin({ sizing: { riskFraction: 0.01, maxFractionOfEquity: 0.1 } }, 1_000_000);
    expect(capped.sizeOrder({ symbol: 'AAA', side: 'BUY', stopPrice: 95 })).toMatchObject({
      quantity: 1_000, // 0.1 × 1 000 000 / 100
      boundBy: 'EQUITY_CAP',
    });
    const limited = await plugin(
      { sizing: { riskFraction: 0.01 }, preTrade: { maxGrossExposure: 300_000 } },
      1_000_000,
    );
    limited.onFill(fill('BBB', 5_000, 50)); // 250 000 gross
    const size = limited.sizeOrder({ symbol: 'AAA', side: 'BUY', stopPrice: 95 });
    expect(size).toMatchObject({ ok: true, quantity: 500, boundBy: 'GROSS_EXPOSURE_LIMIT' }); // (300 000 − 250 000) / 100
    expect(limited.beforeOrder(order({ clientOrderId: 'one-more', quantity: 501 })).allow).toBe(false);
    expect(limited.beforeOrder(order({ clientOrderId: 'sized', quantity: 500 })).allow).toBe(true);
    // Now the book is at the cap (the allowed entry counts until it fills): no size, with the limit's code.
    expect(limited.sizeOrder({ symbol: 'AAA', side: 'BUY', stopPrice: 95 })).toMatchObject({
      ok: false,
      code: 'GROSS_EXPOSURE_LIMIT',
    });
  });

  it('not configured: INSUFFICIENT_DATA; a bad sizing section is refused with the others', async () => {
    const p = await plugin({}, 1e6);
    expect(p.sizeOrder({ symbol: 'AAA', side: 'BUY', stopPrice: 95 })).toMatchObject({
      ok: false,
      code: 'INSUFFICIENT_DATA',
    });
    expect(() => createRiskPlugin({ sizing: { riskFraction: 1.5 } })).toThrow(
      /sizing.riskFraction must be in \(0, 1\)/,
    );
  });
});
