import type { CoordinatorEvent, CoordinatorListener, InstanceCoordinator } from '../../src/coordination/events.js';
import type { Bar, Position } from '../../src/vocabulary/market.js';
import type { OrderRequest, ProtectiveCommand } from '../../src/vocabulary/orders.js';
import type { OpenOrder, PluginContext } from '../../src/vocabulary/services.js';
import type { TradingState } from '../../src/vocabulary/trading-state.js';

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

/** A coordinator under test control: which symbols this instance owns, its state, its events, and how many listen. */
export function fakeCoordinator(owned: string[]) {
  const listeners = new Set<CoordinatorListener>();
  const c = {
    instanceId: 'i-1',
    state: 'ACTIVE' as TradingState,
    owned: new Set(owned),
    emit(e: CoordinatorEvent) {
      for (const l of listeners) l(e);
    },
    get listeners() {
      return listeners.size;
    },
  };
  const coordinator: InstanceCoordinator = {
    instanceId: 'i-1',
    get state() {
      return c.state;
    },
    start: () => Promise.resolve(),
    stop: () => Promise.resolve(),
    setSymbols: () => {},
    owns: (s) => c.owned.has(s),
    owned: () => [...c.owned].sort(),
    tokenOf: () => 1,
    write: () => Promise.resolve({ ok: false, code: 'NOT_OWNER', symbol: '' }),
    tryTakeOrders: () => Promise.resolve(true),
    engageKillSwitch: () => Promise.resolve(),
    releaseKillSwitch: () => Promise.resolve(),
    subscribe: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  };
  return { c, coordinator };
}
