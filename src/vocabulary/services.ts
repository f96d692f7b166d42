import type { Position } from './market.js';
import type { OrderRequest, OrderSink } from './orders.js';
import type { OrderSide } from './market.js';

/** An order resting at the broker, as the host's order service reports it. */
export type OpenOrder = Pick<
  OrderRequest,
  'clientOrderId' | 'symbol' | 'side' | 'quantity' | 'type' | 'price' | 'intent'
>;

/** The host's portfolio, asynchronous: Bulwark fetches every position in one call (no N+1). */
export interface PortfolioService {
  /** Every open position of the host, at most one per symbol. */
  positions(): Promise<readonly Position[]>;
}

/** An order's status as the broker reports it (the protocol's statuses). */
export type BrokerOrderStatus = 'NEW' | 'PARTIALLY_FILLED' | 'FILLED' | 'CANCELED' | 'REJECTED' | 'EXPIRED';

/**
 * An order as the broker (or the host's order service) last showed it: the observed state a
 * protective stop is reconciled against. `quantity` is the order's total, `executedQty` the
 * part of it already executed; `price` is the stop price of a STOP, the limit of a LIMIT.
 */
export interface ObservedOrder {
  /** The client order id the order was placed with. */
  readonly clientOrderId: string;
  /** Instrument of the order. */
  readonly symbol: string;
  /** BUY or SELL; a protective stop is SELL for a long, BUY for a short. */
  readonly side: OrderSide;
  /** MARKET, LIMIT or STOP. */
  readonly type: 'MARKET' | 'LIMIT' | 'STOP';
  /** The order's total quantity, the executed part included. */
  readonly quantity: number;
  /** The part of `quantity` already executed; 0 when nothing has. */
  readonly executedQty: number;
  /** Stop price of a STOP, limit price of a LIMIT; absent for a MARKET. */
  readonly price?: number;
  /** Where the order is in its life, as the broker says. */
  readonly status: BrokerOrderStatus;
}

/** How a venue changes a resting order: in place, or by cancelling it and placing a new one. */
export type AmendStyle = 'native' | 'cancel-replace';

/** The host's order path: Bulwark's commands go out through it. */
export interface OrderService extends OrderSink {
  /** Every order working at the broker now; at start Bulwark adopts its own resting stops from it. */
  openOrders(): Promise<readonly OpenOrder[]>;
  /**
   * The order with this client id as the broker shows it now; `undefined` when the broker
   * never accepted it (the protocol's -2013). Rejects when the broker cannot say (a lost
   * answer, a dropped connection): the order's fate is then still unknown. Optional: without
   * it, protective stops are reconciled from `openOrders()` alone.
   */
  orderStatus?(symbol: string, clientOrderId: string): Promise<ObservedOrder | undefined>;
  /**
   * Open orders with their executed quantities and statuses (as {@link ObservedOrder}s).
   * Optional: without it, `openOrders()` is read (nothing executed assumed).
   */
  observedOpenOrders?(): Promise<readonly ObservedOrder[]>;
  /**
   * The broker shows `order` executed beyond what was booked, and no report came for it (lost,
   * with no later report to reveal a gap): book the difference from this record. Optional.
   */
  bookExecuted?(order: ObservedOrder): void;
  /**
   * How the venue changes a resting stop: `native` amends it in place (same client id);
   * `cancel-replace` cannot, so the stop reconciler sends REPLACE_STOP (a new client id per
   * move, the old stop cancelled in the same request). Default `native`.
   */
  readonly amend?: AmendStyle;
  /** True for a client id Bulwark placed (e.g. recorded in the order path's journal). Optional. */
  isOurs?(clientOrderId: string): boolean;
  /**
   * Protective stops the last process wanted but had not seen resting at the broker when it
   * stopped (from its journal): restored at start, the tighter stop winning. Optional.
   */
  pendingStops?(): readonly {
    readonly symbol: string;
    readonly side: OrderSide;
    readonly quantity: number;
    readonly stopPrice: number;
  }[];
}

/** What a host engine hands a plugin at `onInit`. */
export interface PluginContext {
  /** The host's positions. */
  readonly portfolio: PortfolioService;
  /** Where the plugin's protective commands go, and where it reads the orders resting at the broker. */
  readonly orders: OrderService;
  /** Current time in epoch ms (the replay clock in backtests). */
  readonly now: () => number;
}
