import type { Bar, Position } from '../../src/vocabulary/market.js';
import type { OrderRequest, ProtectiveCommand } from '../../src/vocabulary/orders.js';
import type { OpenOrder, PluginContext } from '../../src/vocabulary/services.js';

export const T0 = Date.parse('2026-03-02T14:30:00Z');
export const MIN = 60_000;

/** A host context that records every command and serves the given positions/orders. */
export function fakeContext(opts: { positions?: Position[]; open?: OpenOrder[]; now?: () => number } = {}) {
  const sent: ProtectiveCommand[] = [];
  const context: PluginContext = {
    now: opts.now ?? (() => Date.now()),
    portfolio: { positions: () => Promise.resolve(opts.positions ?? []) },
    orders: {
      send: (c) => {
        sent.push(c);
        return Promise.resolve({ ok: true, clientOrderId: c.clientOrderId });
      },
      openOrders: () => Promise.resolve(opts.open ?? []),
    },
  };
  return { context, sent };
}

/** A consistent bar. */
export function bar(symbol: string, timestamp: number, close: number, range = 0.01, volume = 1_000): Bar {
  return { symbol, timestamp, open: close, high: close * (1 + range), low: close * (1 - range), close, volume };
}

/** An order request: a MARKET BUY of 1 AAA marked ENTRY, with `o` over it. */
export function order(o: Partial<OrderRequest> = {}): OrderRequest {
  return { clientOrderId: 'o1', symbol: 'AAA', side: 'BUY', quantity: 1, type: 'MARKET', intent: 'ENTRY', ...o };
}
