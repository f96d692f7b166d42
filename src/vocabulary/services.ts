import type { Position } from './market.js';
import type { OrderRequest, OrderSink } from './orders.js';

/** An order resting at the broker, as the host's order service reports it. */
export type OpenOrder = Pick<OrderRequest, 'clientOrderId' | 'symbol' | 'side' | 'quantity' | 'type' | 'price' | 'intent'>;

/** The host's portfolio, asynchronous: Bulwark fetches every position in one call (no N+1). */
export interface PortfolioService {
  positions(): Promise<readonly Position[]>;
}

/** The host's order path: Bulwark's commands go out through it. */
export interface OrderService extends OrderSink {
  openOrders(): Promise<readonly OpenOrder[]>;
}

/** What a host engine hands a plugin at `onInit`. */
export interface PluginContext {
  readonly portfolio: PortfolioService;
  readonly orders: OrderService;
  /** Current time in epoch ms (the replay clock in backtests). */
  readonly now: () => number;
}
