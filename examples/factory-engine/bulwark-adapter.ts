/**
 * Bulwark as a plugin of the {@link FactoryEngine}-style API: a plugin factory whose hooks
 * translate the host's records into Bulwark's (`pair` → symbol, seconds → ms, `o h l c v` →
 * OHLCV, trades → positions) and Bulwark's protective commands into the host's order calls.
 * Candles arrive one at a time and are handed to Bulwark as one batch per time step (its
 * fast path), before the account snapshot of that step. In a project of your own, import
 * from 'bulwark' instead of '../../src/index.js'.
 */
import { createRiskPlugin, type Bar, type Position, type RiskPlugin, type RiskPluginConfig } from '../../src/index.js';
import type { CommandResult, ProtectiveCommand } from '../../src/vocabulary/orders.js';
import type { OpenOrder, PluginContext } from '../../src/vocabulary/services.js';
import type { Account, Candle, HostApi, HostPlugin, PluginFactory, Trade } from './host-engine.js';

const toBar = (c: Candle): Bar => ({
  symbol: c.pair,
  timestamp: c.ts * 1000,
  open: c.o,
  high: c.h,
  low: c.l,
  close: c.c,
  volume: c.v,
});
const toPosition = (t: Trade): Position => ({
  symbol: t.pair,
  side: t.direction === 'long' ? 'LONG' : 'SHORT',
  quantity: t.amount,
  entryPrice: t.openRate,
  openedAt: t.openedAt * 1000,
});

/** Runs one protective command through the host's order API. */
async function execute(api: HostApi, c: ProtectiveCommand): Promise<CommandResult> {
  try {
    switch (c.kind) {
      case 'PLACE_STOP':
        await api.placeStop(c.symbol, c.side === 'BUY' ? 'buy' : 'sell', c.quantity, c.stopPrice, c.clientOrderId);
        break;
      case 'AMEND_STOP':
        await api.moveStop(c.clientOrderId, c.stopPrice);
        break;
      case 'REPLACE_STOP':
        // Not sent here: this host moves stops in place (the order service declares no
        // `amend: 'cancel-replace'`). A host that cannot would map it to its cancel-replace.
        await api.cancelOrder(c.replaces);
        await api.placeStop(c.symbol, c.side === 'BUY' ? 'buy' : 'sell', c.quantity, c.stopPrice, c.clientOrderId);
        break;
      case 'CANCEL':
        await api.cancelOrder(c.clientOrderId);
        break;
      case 'CLOSE_POSITION':
        await api.closeTrade(c.symbol, c.quantity, c.clientOrderId);
        break;
    }
    return { ok: true, clientOrderId: c.clientOrderId };
  } catch (e) {
    return {
      ok: false,
      clientOrderId: c.clientOrderId,
      code: 'HOST_REJECTED',
      message: e instanceof Error ? e.message : String(e),
    };
  }
}

/**
 * A plugin factory for the host engine. Stops rest at the host as its stop orders (Bulwark's
 * BROKER mode) unless `config.stops.mode` says otherwise; `onRisk` sees the plugin itself
 * (for events and stats) once it exists.
 *
 * @example
 * ```ts
 * engine.register(bulwarkFactory({ drawdown: { haltAt: 0.1 } }, (plugin) => plugin.subscribe(console.log)));
 * ```
 */
export function bulwarkFactory(config: RiskPluginConfig = {}, onRisk?: (plugin: RiskPlugin) => void): PluginFactory {
  return (api: HostApi): HostPlugin => {
    const plugin = createRiskPlugin({ ...config, stops: { mode: 'BROKER', ...config.stops } });
    onRisk?.(plugin);
    const ctx: PluginContext = {
      now: () => api.now() * 1000,
      portfolio: { positions: async () => api.account().trades.map(toPosition) },
      orders: {
        send: (c) => execute(api, c),
        openOrders: async (): Promise<readonly OpenOrder[]> =>
          (await api.openOrders()).map((o) => ({
            clientOrderId: o.id,
            symbol: o.pair,
            side: o.side === 'buy' ? 'BUY' : 'SELL',
            quantity: o.amount,
            type: o.stopPrice === undefined ? 'MARKET' : 'STOP',
            ...(o.stopPrice === undefined ? {} : { price: o.stopPrice }),
            intent: 'PROTECTIVE',
          })),
      },
    };
    let pending: Candle[] = [];
    const flush = async () => {
      if (pending.length === 0) return;
      const batch = pending.map(toBar);
      pending = [];
      await plugin.onBars(batch);
    };
    return {
      name: 'bulwark',
      start: () => plugin.onInit(ctx),
      onCandle: async (c) => {
        if (pending.length > 0 && (pending[0] as Candle).ts !== c.ts) await flush();
        pending.push(c);
      },
      onBeforeOpen: async (intent) => {
        await flush(); // decide on the latest market state
        const d = plugin.beforeOrder({
          clientOrderId: intent.id,
          symbol: intent.pair,
          side: intent.direction === 'long' ? 'BUY' : 'SELL',
          quantity: intent.amount,
          type: 'MARKET',
          intent: 'ENTRY',
        });
        return d.allow ? undefined : { veto: true, reason: `${d.code}: ${d.message}` };
      },
      onOrderFilled: (f) =>
        plugin.onFill({
          fillId: f.tradeId,
          orderId: f.orderId,
          symbol: f.pair,
          side: f.side === 'buy' ? 'BUY' : 'SELL',
          quantity: f.amount,
          price: f.price,
          timestamp: f.ts * 1000,
        }),
      onAccount: async (a: Account) => {
        await flush();
        plugin.onPortfolio({ timestamp: a.ts * 1000, equity: a.equity, positions: a.trades.map(toPosition) });
        await plugin.settled(); // the stops it placed or moved have reached the host
      },
      stop: () => plugin.onDispose(),
    };
  };
}
