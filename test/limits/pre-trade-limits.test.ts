/**
 * The pre-trade limits (`preTrade`), through the plugin's `beforeOrder`, each judged against
 * the rule as the issue states it, written out here (not the plugin's helpers): a notional is
 * |quantity| × price, the price of an order is its limit/stop price else the last accepted
 * close, a position is what the fills and snapshots made it (the snapshot wins). At each
 * boundary: equal passes, a little over is denied. Exits (opposite to the position, no larger)
 * always pass.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRiskPlugin, isBulwarkError, type RiskEvent } from '../../src/index.js';
import type { PreTradeConfig } from '../../src/limits/pre-trade-config.js';
import type { Fill, Position } from '../../src/vocabulary/market.js';
import type { OrderDecision } from '../../src/vocabulary/orders.js';
import { bar, fakeContext, MIN, order, T0 } from '../plugin/helpers.js';

afterEach(() => vi.useRealTimers());

const codeOf = (d: OrderDecision) => (d.allow ? 'ALLOW' : d.code);
let fills = 0;
const fill = (symbol: string, side: 'BUY' | 'SELL', quantity: number, price: number): Fill => ({
  fillId: `f${++fills}`,
  orderId: `o${fills}`,
  symbol,
  side,
  quantity,
  price,
  timestamp: Date.now(),
});
const position = (symbol: string, side: 'LONG' | 'SHORT', quantity: number, entryPrice = 100): Position => ({
  symbol,
  side,
  quantity,
  entryPrice,
  openedAt: T0,
});

/** A plugin with `preTrade`, the clock at T0 (fake), and closes for each symbol (its marks). */
async function plugin(preTrade: PreTradeConfig, closes: Record<string, number> = { AAA: 100 }, sessionStart?: string) {
  vi.useFakeTimers({ now: T0 });
  const events: RiskEvent[] = [];
  const p = createRiskPlugin({
    preTrade,
    ...(sessionStart === undefined ? {} : { protections: { sessionStart } }),
  });
  p.subscribe((e) => events.push(e));
  await p.onInit(fakeContext().context);
  await p.onBars(Object.entries(closes).map(([s, c]) => bar(s, T0, c)));
  return { p, events };
}

describe('preTrade limits in beforeOrder', () => {
  it('maxOrderNotional: |quantity × price| of the order, at its limit price else the last close; equal passes', async () => {
    const limit = 50_000;
    const { p } = await plugin({ maxOrderNotional: limit });
    const notional = (q: number, price: number) => Math.abs(q * price); // the rule
    expect(notional(500, 100)).toBe(limit);
    expect(codeOf(p.beforeOrder(order({ quantity: 500 })))).toBe('ALLOW');
    expect(codeOf(p.beforeOrder(order({ quantity: 500.01 })))).toBe('ORDER_NOTIONAL_LIMIT');
    expect(codeOf(p.beforeOrder(order({ quantity: 500, type: 'LIMIT', price: 100.01 })))).toBe('ORDER_NOTIONAL_LIMIT');
    expect(codeOf(p.beforeOrder(order({ quantity: 1_000, type: 'LIMIT', price: 50 })))).toBe('ALLOW');
    const d = p.beforeOrder(order({ quantity: 600 }));
    expect(d.allow ? '' : d.message).toMatch(/60000.*50000/);
    // No price at all (a symbol never seen): refused, not guessed.
    expect(codeOf(p.beforeOrder(order({ symbol: 'NEW', quantity: 1 })))).toBe('ORDER_NOTIONAL_LIMIT');
  });

  it('maxPositionNotional and positionNotionalBySymbol: the position after the order, fills included; partial fills add up', async () => {
    const { p } = await plugin(
      { maxPositionNotional: 100_000, positionNotionalBySymbol: { BBB: 250_000 } },
      {
        AAA: 100,
        BBB: 100,
      },
    );
    p.onFill(fill('AAA', 'BUY', 400, 99));
    p.onFill(fill('AAA', 'BUY', 500, 101)); // two partial fills: LONG 900, at the mark 100 → 90 000
    expect(codeOf(p.beforeOrder(order({ quantity: 100 })))).toBe('ALLOW'); // 100 000: equal
    expect(codeOf(p.beforeOrder(order({ quantity: 100.01 })))).toBe('POSITION_NOTIONAL_LIMIT');
    expect(codeOf(p.beforeOrder(order({ symbol: 'BBB', quantity: 2_500 })))).toBe('ALLOW'); // its own limit
    expect(codeOf(p.beforeOrder(order({ symbol: 'BBB', quantity: 2_500.01 })))).toBe('POSITION_NOTIONAL_LIMIT');
  });

  it('exits always pass, whatever the book: a SELL within a LONG passes over every limit; one beyond it is an entry', async () => {
    const { p } = await plugin({ maxGrossExposure: 1_000, maxOrderNotional: 500, maxOpenPositions: 1 });
    p.onPortfolio({ timestamp: T0 + MIN, equity: 1e6, positions: [position('AAA', 'LONG', 5_000)] }); // 500 000 gross
    expect(codeOf(p.beforeOrder(order({ side: 'SELL', quantity: 5_000, intent: 'ENTRY' })))).toBe('ALLOW');
    expect(codeOf(p.beforeOrder(order({ side: 'SELL', quantity: 5_001, intent: 'EXIT' })))).toBe(
      'ORDER_NOTIONAL_LIMIT',
    );
    expect(codeOf(p.beforeOrder(order({ side: 'BUY', quantity: 1, intent: 'EXIT', reduceOnly: true })))).toBe(
      'GROSS_EXPOSURE_LIMIT',
    );
  });

  it('maxNetExposure through a flip from long to short: |Σ signed notional| after the order', async () => {
    const { p } = await plugin({ maxNetExposure: 20_000 });
    p.onFill(fill('AAA', 'BUY', 100, 100));
    p.onFill(fill('AAA', 'SELL', 250, 100)); // flipped: SHORT 150 → net −15 000
    const net = (signedQty: number, price: number) => Math.abs(signedQty * price); // the rule
    expect(net(-150 - 50, 100)).toBe(20_000);
    expect(codeOf(p.beforeOrder(order({ side: 'SELL', quantity: 50 })))).toBe('ALLOW');
    expect(codeOf(p.beforeOrder(order({ side: 'SELL', quantity: 50.01 })))).toBe('NET_EXPOSURE_LIMIT');
    // The allowed SELL 50 counts until it fills: the short is 200. A BUY larger than it flips it
    // long, an entry checked as such: +200 → 20 000 passes, +200.01 does not.
    expect(codeOf(p.beforeOrder(order({ side: 'BUY', quantity: 400.01 })))).toBe('NET_EXPOSURE_LIMIT');
    expect(codeOf(p.beforeOrder(order({ side: 'BUY', quantity: 150 })))).toBe('ALLOW'); // an exit
  });

  it('a snapshot that disagrees with the fills wins, and the difference is reported (POSITION_CORRECTED)', async () => {
    const { p, events } = await plugin({ maxPositionNotional: 40_000 });
    p.onFill(fill('AAA', 'BUY', 100, 100)); // fills: LONG 100
    p.onPortfolio({ timestamp: T0 + MIN, equity: 1e6, positions: [position('AAA', 'LONG', 300)] });
    expect(events.filter((e) => e.kind === 'POSITION_CORRECTED')).toEqual([
      expect.objectContaining({ symbol: 'AAA', was: 100, now: 300 }),
    ]);
    expect(codeOf(p.beforeOrder(order({ quantity: 100 })))).toBe('ALLOW'); // 400 × 100 = 40 000
    expect(codeOf(p.beforeOrder(order({ quantity: 100.01 })))).toBe('POSITION_NOTIONAL_LIMIT');
    // A snapshot without the position: flat.
    p.onPortfolio({ timestamp: T0 + 2 * MIN, equity: 1e6, positions: [] });
    expect(codeOf(p.beforeOrder(order({ quantity: 400 })))).toBe('ALLOW');
  });

  it('maxGroupNotional: a group’s gross after the order; symbols outside the group do not count', async () => {
    const { p } = await plugin(
      { groups: { tech: ['AAA', 'BBB'] }, maxGroupNotional: { tech: 30_000 } },
      { AAA: 100, BBB: 50, CCC: 10 },
    );
    p.onFill(fill('AAA', 'BUY', 100, 100)); // 10 000
    p.onFill(fill('BBB', 'SELL', 200, 50)); // short 10 000: gross counts it
    p.onFill(fill('CCC', 'BUY', 10_000, 10)); // 100 000, not in the group
    expect(codeOf(p.beforeOrder(order({ symbol: 'BBB', side: 'SELL', quantity: 200 })))).toBe('ALLOW'); // 30 000
    expect(codeOf(p.beforeOrder(order({ symbol: 'BBB', side: 'SELL', quantity: 200.01 })))).toBe(
      'GROUP_NOTIONAL_LIMIT',
    );
    expect(codeOf(p.beforeOrder(order({ symbol: 'CCC', quantity: 1e4 })))).toBe('ALLOW');
    // toJSON shows what the checks see: the fills, and the two allowed entries until they fill
    // (BBB short 400 → 20 000, CCC long 20 000 → 200 000).
    expect(p.toJSON().exposure).toEqual({
      grossExposure: 230_000,
      netExposure: 190_000,
      groups: { tech: 30_000 },
      openPositions: 3,
      ordersToday: 2,
    });
    // Their fills replace the reservations: nothing counts twice.
    p.onFill({ ...fill('BBB', 'SELL', 200, 50), orderId: 'o1' });
    p.onFill({ ...fill('CCC', 'BUY', 10_000, 10), orderId: 'o1' });
    expect(p.toJSON().exposure?.grossExposure).toBe(230_000);
  });

  it('maxGrossExposure and maxOpenPositions: Σ |notional| and the count of positions after the order', async () => {
    const { p } = await plugin({ maxGrossExposure: 30_000, maxOpenPositions: 2 }, { AAA: 100, BBB: 100, CCC: 100 });
    p.onFill(fill('AAA', 'BUY', 100, 100));
    p.onFill(fill('BBB', 'SELL', 100, 100));
    expect(codeOf(p.beforeOrder(order({ symbol: 'CCC', quantity: 1 })))).toBe('OPEN_POSITIONS_LIMIT');
    expect(codeOf(p.beforeOrder(order({ symbol: 'AAA', quantity: 100 })))).toBe('ALLOW'); // 30 000, same 2 positions
    expect(codeOf(p.beforeOrder(order({ symbol: 'AAA', quantity: 100.01 })))).toBe('GROSS_EXPOSURE_LIMIT');
  });

  it('priceBandPercent: a limit or stop price more than the band from the last close is refused; none before a close', async () => {
    const { p } = await plugin({ priceBandPercent: 5 });
    expect(codeOf(p.beforeOrder(order({ type: 'LIMIT', price: 105 })))).toBe('ALLOW'); // exactly 5 %
    expect(codeOf(p.beforeOrder(order({ type: 'LIMIT', price: 105.01 })))).toBe('PRICE_BAND');
    expect(codeOf(p.beforeOrder(order({ type: 'STOP', price: 94.99 })))).toBe('PRICE_BAND');
    expect(codeOf(p.beforeOrder(order({ type: 'MARKET' })))).toBe('ALLOW');
    expect(codeOf(p.beforeOrder(order({ symbol: 'NEW', type: 'LIMIT', price: 1 })))).toBe('PRICE_BAND');
  });

  it('maxOrdersPerDay: entries per session day, the count starting again when the next session starts (fake clock)', async () => {
    const { p } = await plugin({ maxOrdersPerDay: 3 }, { AAA: 100 }, '14:00Z'); // T0 is 14:30Z
    for (let i = 0; i < 3; i++) expect(codeOf(p.beforeOrder(order({ clientOrderId: `e${i}` })))).toBe('ALLOW');
    expect(codeOf(p.beforeOrder(order({ clientOrderId: 'e3' })))).toBe('DAILY_ORDER_LIMIT');
    vi.setSystemTime(Date.parse('2026-03-03T13:59:59Z')); // still the same session day
    expect(codeOf(p.beforeOrder(order({ clientOrderId: 'e4' })))).toBe('DAILY_ORDER_LIMIT');
    vi.setSystemTime(Date.parse('2026-03-03T14:00:00Z')); // the next one begins
    expect(codeOf(p.beforeOrder(order({ clientOrderId: 'e5' })))).toBe('ALLOW');
    // Exits are not entries: never counted, never refused.
    p.onPortfolio({ timestamp: Date.now(), equity: 1e6, positions: [position('AAA', 'LONG', 10)] });
    for (let i = 0; i < 5; i++) expect(codeOf(p.beforeOrder(order({ side: 'SELL', quantity: 1 })))).toBe('ALLOW');
  });

  it('configuration problems are all reported at once', () => {
    let caught: unknown;
    try {
      createRiskPlugin({
        preTrade: {
          maxOrderNotional: -1,
          maxOpenPositions: 1.5,
          groups: { tech: 'AAPL' as unknown as string[] },
          maxGroupNotional: { energy: 5 },
          priceBandPercent: Number.NaN,
          typo: 1,
        } as unknown as PreTradeConfig,
        protections: { sessionStart: '25:00' },
      });
    } catch (e) {
      caught = e;
    }
    expect(isBulwarkError(caught, 'INVALID_CONFIG')).toBe(true);
    const problems = (caught as { details: { problems: string[] } }).details.problems;
    expect(problems).toEqual(
      expect.arrayContaining([
        'preTrade.maxOrderNotional must be a finite number > 0',
        'preTrade.maxOpenPositions must be an integer > 0',
        'preTrade.groups.tech must be an array of symbols',
        'preTrade.maxGroupNotional.energy names no group in preTrade.groups',
        'preTrade.priceBandPercent must be a finite number > 0',
        'unknown config key preTrade.typo',
        'protections.sessionStart must be a UTC time of day, HH:MMZ (e.g. 00:00Z)',
      ]),
    );
  });

  it('metrics: gross and net exposure gauges, read at scrape time', async () => {
    const { p } = await plugin({ maxGrossExposure: 1e9 }, { AAA: 100, BBB: 50 });
    p.onFill(fill('AAA', 'BUY', 100, 100));
    p.onFill(fill('BBB', 'SELL', 400, 50)); // short 20 000
    const text = await p.metrics.registry.metrics();
    expect(text).toMatch(/^bulwark_exposure_gross 30000$/m);
    expect(text).toMatch(/^bulwark_exposure_net -10000$/m);
    await p.onDispose();
  });

  it('a burst of entries before any fill is limited as a whole: each allowed entry counts until its fills arrive or the next snapshot', async () => {
    const { p } = await plugin({ maxGrossExposure: 25_000 }, { AAA: 100, BBB: 100, CCC: 100 });
    expect(codeOf(p.beforeOrder(order({ clientOrderId: 'a', symbol: 'AAA', quantity: 100 })))).toBe('ALLOW');
    expect(codeOf(p.beforeOrder(order({ clientOrderId: 'b', symbol: 'BBB', quantity: 100 })))).toBe('ALLOW');
    expect(codeOf(p.beforeOrder(order({ clientOrderId: 'c', symbol: 'CCC', quantity: 100 })))).toBe(
      'GROSS_EXPOSURE_LIMIT',
    );
    expect(codeOf(p.beforeOrder(order({ clientOrderId: 'c', symbol: 'CCC', quantity: 50 })))).toBe('ALLOW'); // 25 000
    // A snapshot is the host's word: one entry filled, the others did not (yet): they no longer count.
    p.onPortfolio({ timestamp: T0 + MIN, equity: 1e6, positions: [position('AAA', 'LONG', 100)] });
    expect(p.toJSON().exposure?.grossExposure).toBe(10_000);
    expect(codeOf(p.beforeOrder(order({ clientOrderId: 'd', symbol: 'BBB', quantity: 150 })))).toBe('ALLOW');
  });
});
