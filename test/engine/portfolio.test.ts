import { describe, expect, it } from 'vitest';
import { Portfolio } from '../../src/engine/portfolio.js';
import type { Fill } from '../../src/vocabulary/market.js';
import { at, bar } from './helpers.js';

let seq = 0;
const fill = (side: 'BUY' | 'SELL', quantity: number, price: number, m = 0, symbol = 'ACME'): Fill => ({
  fillId: `F${++seq}`,
  orderId: `o${seq}`,
  symbol,
  side,
  quantity,
  price,
  timestamp: at(m),
});

describe('Portfolio accounting', () => {
  it('averages the entry price on adds and realises P&L against it on reductions and the close', () => {
    const p = new Portfolio(10_000);
    p.applyFill(fill('BUY', 10, 100, 0));
    p.applyFill(fill('BUY', 10, 110, 1));
    expect(p.position('ACME')).toEqual({
      symbol: 'ACME',
      side: 'LONG',
      quantity: 20,
      entryPrice: 105,
      openedAt: at(0),
    });
    const e = p.applyFill(fill('SELL', 5, 120, 2));
    expect(e.realised).toBe(75);
    expect(p.position('ACME')).toEqual({
      symbol: 'ACME',
      side: 'LONG',
      quantity: 15,
      entryPrice: 105,
      openedAt: at(0),
    });
    p.applyFill(fill('SELL', 15, 90, 3));
    expect(p.position('ACME')).toBeUndefined();
    expect(p.realisedPnl).toBe(75 - 225);
    expect(p.cash).toBe(10_000 - 1000 - 1100 + 600 + 1350);
    expect(p.equity()).toBe(p.cash);
    expect(p.cash - 10_000).toBe(p.realisedPnl);
  });

  it('books shorts: the sale credits cash, a cover realises (entry − price) × quantity', () => {
    const p = new Portfolio(1_000);
    p.applyFill(fill('SELL', 10, 50));
    expect(p.position('ACME')).toMatchObject({ side: 'SHORT', quantity: 10, entryPrice: 50 });
    expect(p.cash).toBe(1_500);
    expect(p.applyFill(fill('BUY', 4, 40)).realised).toBe(40);
    expect(p.position('ACME')).toMatchObject({ side: 'SHORT', quantity: 6, entryPrice: 50 });
  });

  it('flips: closes the whole position, then opens the remainder on the other side at the fill price and time', () => {
    const p = new Portfolio(1_000);
    p.applyFill(fill('SELL', 10, 50, 0));
    const e = p.applyFill(fill('BUY', 14, 45, 5));
    expect(e.realised).toBe(50);
    expect(e.before).toMatchObject({ side: 'SHORT', quantity: 10 });
    expect(p.position('ACME')).toEqual({ symbol: 'ACME', side: 'LONG', quantity: 4, entryPrice: 45, openedAt: at(5) });
    p.applyFill(fill('SELL', 6, 47, 6));
    expect(p.position('ACME')).toEqual({ symbol: 'ACME', side: 'SHORT', quantity: 2, entryPrice: 47, openedAt: at(6) });
    expect(p.realisedPnl).toBe(50 + 8);
  });

  it('marks equity to the last close (entry price before any mark), longs and shorts', () => {
    const p = new Portfolio(100_000);
    p.applyFill(fill('BUY', 100, 50, 0, 'ACME'));
    p.applyFill(fill('SELL', 10, 200, 0, 'BETA'));
    expect(p.equity()).toBe(100_000);
    p.mark([bar(1, 'ACME', 50, 56, 49, 55), bar(1, 'BETA', 200, 211, 199, 210)]);
    expect(p.equity()).toBe(100_000 + 100 * 5 - 10 * 10);
    expect(p.unrealisedPnl()).toBe(400);
    expect(p.markOf('ACME')).toBe(55);
  });

  it('returns every position in one call, frozen, and shares the array between snapshots until a position changes', async () => {
    const p = new Portfolio(100_000);
    p.applyFill(fill('BUY', 1, 10, 0, 'AAA'));
    p.applyFill(fill('BUY', 1, 10, 0, 'BBB'));
    const s1 = p.snapshot(at(1));
    const s2 = p.snapshot(at(2));
    expect(Object.isFrozen(s1)).toBe(true);
    expect(Object.isFrozen(s1.positions)).toBe(true);
    expect(Object.isFrozen(s1.positions[0])).toBe(true);
    expect(s2.positions).toBe(s1.positions);
    expect(await p.positions()).toBe(s1.positions);
    expect(s1.positions.map((x) => x.symbol)).toEqual(['AAA', 'BBB']);
    p.applyFill(fill('SELL', 1, 11, 3, 'AAA'));
    const s3 = p.snapshot(at(3));
    expect(s3.positions).not.toBe(s1.positions);
    expect(s3.positions.map((x) => x.symbol)).toEqual(['BBB']);
    expect(s1.positions).toHaveLength(2); // the old snapshot is unchanged
  });

  it('treats floating-point dust as flat', () => {
    const p = new Portfolio(1_000);
    p.applyFill(fill('BUY', 0.3, 10));
    p.applyFill(fill('SELL', 0.1, 10));
    p.applyFill(fill('SELL', 0.2, 10));
    expect(p.position('ACME')).toBeUndefined();
  });
});
