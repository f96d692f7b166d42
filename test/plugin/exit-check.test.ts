import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRiskPlugin } from '../../src/index.js';
import type { Position } from '../../src/vocabulary/market.js';
import type { OrderDecision } from '../../src/vocabulary/orders.js';
import { fakeContext, MIN, order, T0 } from './helpers.js';

// The rule under test, as the risk policy states it: an order is an exit only when it is
// opposite to a position the plugin manages (a LONG is reduced by a SELL, a SHORT by a BUY)
// and no larger than that position. What the order says about itself (intent EXIT or
// PROTECTIVE, reduceOnly) is not evidence; anything else is an entry, and HALTED and REDUCING
// refuse entries.

afterEach(() => vi.useRealTimers());

const long = (symbol: string, quantity: number): Position => ({
  symbol,
  side: 'LONG',
  quantity,
  entryPrice: 100,
  openedAt: T0,
});

const codeOf = (d: OrderDecision) => (d.allow ? 'ALLOW' : d.code);

/**
 * A plugin driven by the default drawdown ladder (REDUCING at 10 %, HALTED at 15 %) into
 * `state`, holding `positions`. Time is fake, so the ladder's cooldown never runs out.
 */
async function inState(state: 'HALTED' | 'REDUCING', positions: Position[]) {
  vi.useFakeTimers({ now: T0 });
  const plugin = createRiskPlugin({ limits: { maxPositions: 16 } });
  const { context } = fakeContext();
  await plugin.onInit(context);
  let t = T0;
  const snapshot = (equity: number, held: readonly Position[]) =>
    plugin.onPortfolio({ timestamp: (t += MIN), equity, positions: [...held] });
  snapshot(1_000, positions);
  snapshot(state === 'HALTED' ? 800 : 880, positions);
  expect(plugin.state).toBe(state);
  return { plugin, hold: (held: readonly Position[]) => snapshot(state === 'HALTED' ? 800 : 880, held) };
}

describe("beforeOrder: an exit is judged by the managed position, not by the order's own intent", () => {
  it('HALTED: an "EXIT" BUY of 1e6 with no position behind it is an entry and is denied TRADING_HALTED', async () => {
    const { plugin } = await inState('HALTED', []);
    expect(codeOf(plugin.beforeOrder(order({ intent: 'EXIT', side: 'BUY', quantity: 1e6 })))).toBe('TRADING_HALTED');
    expect(codeOf(plugin.beforeOrder(order({ intent: 'PROTECTIVE', side: 'SELL', type: 'STOP', price: 90 })))).toBe(
      'TRADING_HALTED',
    );
    expect(codeOf(plugin.beforeOrder(order({ intent: 'ENTRY', side: 'SELL', reduceOnly: true })))).toBe(
      'TRADING_HALTED',
    );
    expect(plugin.stats().orders).toEqual({ allowed: 0, denied: { TRADING_HALTED: 3 } });
  });

  it('HALTED: SELL 10 against a LONG 10 is an exit and is allowed, whatever its intent says', async () => {
    const { plugin } = await inState('HALTED', [long('AAA', 10)]);
    expect(codeOf(plugin.beforeOrder(order({ intent: 'EXIT', side: 'SELL', quantity: 10 })))).toBe('ALLOW');
    expect(codeOf(plugin.beforeOrder(order({ intent: 'ENTRY', side: 'SELL', quantity: 10 })))).toBe('ALLOW');
    expect(
      codeOf(plugin.beforeOrder(order({ intent: 'PROTECTIVE', side: 'SELL', quantity: 4, type: 'STOP', price: 90 }))),
    ).toBe('ALLOW');
  });

  it('HALTED: SELL 11 against a LONG 10 would open a short, and is denied', async () => {
    const { plugin } = await inState('HALTED', [long('AAA', 10)]);
    expect(codeOf(plugin.beforeOrder(order({ intent: 'EXIT', side: 'SELL', quantity: 11 })))).toBe('TRADING_HALTED');
    expect(codeOf(plugin.beforeOrder(order({ intent: 'EXIT', side: 'SELL', quantity: 11, reduceOnly: true })))).toBe(
      'TRADING_HALTED',
    );
  });

  it('HALTED: a BUY against a LONG adds to it, so intent EXIT (or reduceOnly) does not let it through', async () => {
    const { plugin } = await inState('HALTED', [long('AAA', 10)]);
    expect(codeOf(plugin.beforeOrder(order({ intent: 'EXIT', side: 'BUY', quantity: 1 })))).toBe('TRADING_HALTED');
    expect(
      codeOf(plugin.beforeOrder(order({ intent: 'PROTECTIVE', side: 'BUY', quantity: 1, reduceOnly: true }))),
    ).toBe('TRADING_HALTED');
  });

  it('REDUCING: an "EXIT" with no position is new exposure (REDUCING_NEW_EXPOSURE); one against the position passes', async () => {
    const { plugin } = await inState('REDUCING', [long('AAA', 10)]);
    expect(codeOf(plugin.beforeOrder(order({ symbol: 'BBB', intent: 'EXIT', side: 'SELL', quantity: 1 })))).toBe(
      'REDUCING_NEW_EXPOSURE',
    );
    expect(codeOf(plugin.beforeOrder(order({ intent: 'EXIT', side: 'SELL', quantity: 10 })))).toBe('ALLOW');
  });

  it('property: in HALTED and REDUCING, an order passes exactly when it reduces a managed position', async () => {
    const symbols = ['AAA', 'BBB', 'CCC'] as const;
    const held = fc.record({
      AAA: fc.option(
        fc.record({
          side: fc.constantFrom('LONG' as const, 'SHORT' as const),
          quantity: fc.integer({ min: 1, max: 1_000 }),
        }),
        { nil: undefined },
      ),
      BBB: fc.option(
        fc.record({
          side: fc.constantFrom('LONG' as const, 'SHORT' as const),
          quantity: fc.integer({ min: 1, max: 1_000 }),
        }),
        { nil: undefined },
      ),
      CCC: fc.option(
        fc.record({
          side: fc.constantFrom('LONG' as const, 'SHORT' as const),
          quantity: fc.integer({ min: 1, max: 1_000 }),
        }),
        { nil: undefined },
      ),
    });
    const request = fc.record({
      symbol: fc.constantFrom(...symbols),
      side: fc.constantFrom('BUY' as const, 'SELL' as const),
      intent: fc.constantFrom('ENTRY' as const, 'EXIT' as const, 'PROTECTIVE' as const),
      reduceOnly: fc.option(fc.boolean(), { nil: undefined }),
      // Either any size, or the held size give or take one (the boundary).
      size: fc.oneof(
        fc.record({ any: fc.integer({ min: 1, max: 2_000 }) }),
        fc.record({ delta: fc.integer({ min: -1, max: 1 }) }),
      ),
    });
    for (const state of ['HALTED', 'REDUCING'] as const) {
      const { plugin, hold } = await inState(state, []);
      fc.assert(
        fc.property(held, request, (book, r) => {
          const positions = symbols.flatMap((symbol) => {
            const p = book[symbol];
            return p === undefined
              ? []
              : [{ symbol, side: p.side, quantity: p.quantity, entryPrice: 100, openedAt: T0 }];
          });
          hold(positions);
          const mine = book[r.symbol];
          const quantity = 'any' in r.size ? r.size.any : Math.max(1, (mine?.quantity ?? 1) + r.size.delta);
          const o = order({
            symbol: r.symbol,
            side: r.side,
            intent: r.intent,
            quantity,
            ...(r.reduceOnly === undefined ? {} : { reduceOnly: r.reduceOnly }),
          });
          // Naive statement of the rule.
          let reduces = false;
          if (mine !== undefined) {
            const opposite = (mine.side === 'LONG' && r.side === 'SELL') || (mine.side === 'SHORT' && r.side === 'BUY');
            reduces = opposite && quantity <= mine.quantity;
          }
          const expected = reduces ? 'ALLOW' : state === 'HALTED' ? 'TRADING_HALTED' : 'REDUCING_NEW_EXPOSURE';
          expect(plugin.state).toBe(state);
          expect(codeOf(plugin.beforeOrder(o))).toBe(expected);
        }),
        { numRuns: 300 },
      );
      await plugin.onDispose();
      vi.useRealTimers();
    }
  });
});
