import type { Bar, Fill, OrderSide } from '../vocabulary/market.js';
import type { OrderIntent } from '../vocabulary/orders.js';
import type { OpenOrder } from '../vocabulary/services.js';
import { CodeCounter } from '../util/code-counter.js';
import { fillPrice } from './fill-rules.js';
import type { MarketFillMode } from './options.js';
import type { Portfolio } from './portfolio.js';

/** Where an order came from. */
export type OrderOrigin =
  | 'SUBMITTED' // Engine.submitOrder, after every plugin's beforeOrder allowed it
  | 'COMMAND'; // a ProtectiveCommand sent through the engine's OrderService

/** Why an order stopped working without filling. */
export type CancelReason =
  | 'CANCEL_COMMAND' // a CANCEL command
  | 'NOTHING_TO_REDUCE' // a reduce-only order triggered with no opposite position to reduce
  | 'POSITION_CLOSED'; // a reduce-only order orphaned when its position closed or flipped

/** Where an order is in its life. */
export type OrderState =
  | { readonly status: 'WORKING' }
  | { readonly status: 'FILLED'; readonly fillId: string; readonly quantity: number; readonly price: number }
  | { readonly status: 'CANCELLED'; readonly reason: CancelReason };

/** An order for the simulator. */
export interface NewOrder {
  /** The order's id; refused for a second order while the first is remembered (see `maxOrderHistory`). */
  readonly clientOrderId: string;
  /** Instrument to trade. */
  readonly symbol: string;
  /** BUY or SELL. */
  readonly side: OrderSide;
  /** Quantity to trade, > 0; a reduce-only order fills at most the position's quantity. */
  readonly quantity: number;
  /** MARKET fills at the next bar's open (`CURRENT_CLOSE`: the current bar's close); LIMIT and STOP use `price`. */
  readonly type: 'MARKET' | 'LIMIT' | 'STOP';
  /** Limit price for LIMIT, trigger price for STOP; unused for MARKET. */
  readonly price: number | undefined;
  /** True when the order may only reduce a position (SELL a long, BUY a short); with none it is cancelled. */
  readonly reduceOnly: boolean;
  /** What the order is for, as submitted (COMMAND orders are PROTECTIVE). */
  readonly intent: OrderIntent;
  /** Whether a strategy submitted the order or a protective command placed it. */
  readonly origin: OrderOrigin;
}

/** An order the simulator knows, working or finished. */
export interface SimulatedOrder extends NewOrder {
  /** Working, filled (with its fill) or cancelled (with the reason). */
  readonly state: OrderState;
  /** Last applied AMEND_STOP version; -Infinity before any. */
  readonly version: number;
}

/** What {@link FillSimulator.place} did. */
export type PlaceOutcome =
  | { readonly outcome: 'PLACED' }
  | { readonly outcome: 'DUPLICATE'; readonly identical: boolean }
  | { readonly outcome: 'LIMIT_REACHED' };

/** What {@link FillSimulator.amendStop} did. */
export type AmendOutcome =
  | { readonly outcome: 'APPLIED' }
  | { readonly outcome: 'STALE' }
  | { readonly outcome: 'REFUSED'; readonly code: string; readonly message: string };

interface Slot {
  order: NewOrder;
  state: OrderState;
  price: number | undefined;
  version: number;
  readonly placedInBatch: number;
  // The price in force before the batch in which `price` was set (for that batch's bar).
  priceBatch: number;
  priorPrice: number | undefined;
}

/** Bounds and fill mode of a {@link FillSimulator}. */
export interface FillSimulatorOptions {
  readonly marketFill: MarketFillMode;
  readonly maxWorkingOrders: number;
  readonly maxOrderHistory: number;
}

/**
 * Simulated execution. Orders are working until a bar fills them or they are cancelled; a
 * fill is booked in the portfolio at once. Timing, with batch k the bars being processed:
 * - An order placed while batch k is processed acts from the symbol's next bar (no look-ahead
 *   into a bar the sender has already seen); a MARKET order in `CURRENT_CLOSE` mode also fills
 *   at the close of the symbol's bar in batch k, if it has one.
 * - An AMEND_STOP sent during batch k applies from the next bar: bar k is tested against the
 *   stop price that was in force when bar k began.
 * - A cancel is immediate.
 * Within one bar, MARKET orders fill first (at the open), then STOP and LIMIT orders, each in
 * the order they were placed. Reduce-only orders fill at most the opposite position; a
 * reduce-only order with nothing to reduce is cancelled, and reduce-only orders that no longer
 * reduce (their position closed or flipped) are cancelled after each fill.
 *
 * @example
 * ```ts
 * const sim = new FillSimulator({ marketFill: 'NEXT_OPEN', maxWorkingOrders: 100, maxOrderHistory: 1000 }, portfolio);
 * sim.place({ clientOrderId: 'e1', symbol: 'ACME', side: 'BUY', quantity: 10, type: 'MARKET', price: undefined, reduceOnly: false, intent: 'ENTRY', origin: 'SUBMITTED' }, 0);
 * const fills = sim.simulate(nextBatch, 1); // filled at ACME's open in nextBatch
 * ```
 */
export class FillSimulator {
  readonly #opts: FillSimulatorOptions;
  readonly #portfolio: Portfolio;
  readonly #orders = new Map<string, Slot>();
  readonly #working = new Map<string, Slot[]>(); // by symbol, placement order
  readonly #finished = new Map<string, true>(); // insertion order = oldest first
  #workingCount = 0;
  #fillSeq = 0;
  readonly #filled = new CodeCounter<OrderOrigin>();
  readonly #cancelled = new CodeCounter<CancelReason>();

  constructor(options: FillSimulatorOptions, portfolio: Portfolio) {
    this.#opts = options;
    this.#portfolio = portfolio;
  }

  /** Orders working now. */
  get workingCount(): number {
    return this.#workingCount;
  }

  /** Filled orders by origin so far. */
  get filled(): CodeCounter<OrderOrigin> {
    return this.#filled;
  }

  /** Cancelled orders by reason so far. */
  get cancelled(): CodeCounter<CancelReason> {
    return this.#cancelled;
  }

  /** The order with this client id, working or (recently) finished. */
  get(clientOrderId: string): SimulatedOrder | undefined {
    const s = this.#orders.get(clientOrderId);
    return s === undefined
      ? undefined
      : Object.freeze({ ...s.order, price: s.price, state: s.state, version: s.version });
  }

  /**
   * Starts working `order`, placed while batch `batch` is processed. A known client id is
   * refused as a duplicate (`identical` when it has the same symbol, side, type, quantity and
   * original price, i.e. a retry).
   */
  place(order: NewOrder, batch: number): PlaceOutcome {
    const known = this.#orders.get(order.clientOrderId);
    if (known !== undefined) {
      const o = known.order;
      const identical =
        o.symbol === order.symbol &&
        o.side === order.side &&
        o.type === order.type &&
        o.quantity === order.quantity &&
        o.price === order.price;
      return { outcome: 'DUPLICATE', identical };
    }
    if (this.#workingCount >= this.#opts.maxWorkingOrders) return { outcome: 'LIMIT_REACHED' };
    const slot: Slot = {
      order,
      state: { status: 'WORKING' },
      price: order.price,
      version: Number.NEGATIVE_INFINITY,
      placedInBatch: batch,
      priceBatch: batch,
      priorPrice: undefined,
    };
    this.#orders.set(order.clientOrderId, slot);
    let list = this.#working.get(order.symbol);
    if (list === undefined) this.#working.set(order.symbol, (list = []));
    list.push(slot);
    this.#workingCount++;
    return { outcome: 'PLACED' };
  }

  /** Moves a working stop to `stopPrice` (and its size to `quantity`, when given) unless `version` ≤ the last applied version. */
  amendStop(
    clientOrderId: string,
    symbol: string,
    stopPrice: number,
    version: number,
    batch: number,
    quantity?: number,
  ): AmendOutcome {
    const s = this.#orders.get(clientOrderId);
    if (s === undefined) return { outcome: 'REFUSED', code: 'UNKNOWN_ORDER', message: `no order ${clientOrderId}` };
    if (s.order.symbol !== symbol)
      return {
        outcome: 'REFUSED',
        code: 'SYMBOL_MISMATCH',
        message: `order ${clientOrderId} is for ${s.order.symbol}, not ${symbol}`,
      };
    if (s.state.status !== 'WORKING')
      return { outcome: 'REFUSED', code: 'ORDER_CLOSED', message: `order ${clientOrderId} is ${s.state.status}` };
    if (s.order.type !== 'STOP')
      return { outcome: 'REFUSED', code: 'NOT_A_STOP', message: `order ${clientOrderId} is a ${s.order.type} order` };
    if (version <= s.version) return { outcome: 'STALE' };
    if (s.priceBatch < batch) {
      s.priorPrice = s.price;
      s.priceBatch = batch;
    }
    s.price = stopPrice;
    s.version = version;
    if (quantity !== undefined) s.order = Object.freeze({ ...s.order, quantity });
    return { outcome: 'APPLIED' };
  }

  /** Cancels a working order now. False when it is not working. */
  cancel(clientOrderId: string, reason: CancelReason): boolean {
    const s = this.#orders.get(clientOrderId);
    if (s === undefined || s.state.status !== 'WORKING') return false;
    this.#finish(s, { status: 'CANCELLED', reason });
    this.#cancelled.add(reason);
    return true;
  }

  /** Every working order, in placement order per symbol. */
  openOrders(): readonly OpenOrder[] {
    const out: OpenOrder[] = [];
    for (const list of this.#working.values()) {
      for (const s of list) {
        const o = s.order;
        const base = {
          clientOrderId: o.clientOrderId,
          symbol: o.symbol,
          side: o.side,
          quantity: o.quantity,
          type: o.type,
          intent: o.intent,
        };
        out.push(Object.freeze(s.price === undefined ? base : { ...base, price: s.price }));
      }
    }
    return Object.freeze(out);
  }

  /**
   * Fills what batch `batch` (bars of one timestamp) fills, books each fill in the portfolio,
   * and returns the fills in execution order.
   */
  simulate(bars: readonly Bar[], batch: number): Fill[] {
    const fills: Fill[] = [];
    for (const bar of bars) {
      const list = this.#working.get(bar.symbol);
      if (list === undefined) continue;
      const snapshot = list.slice();
      for (const marketPass of [true, false]) {
        for (const s of snapshot) {
          if (s.state.status !== 'WORKING' || (s.order.type === 'MARKET') !== marketPass) continue;
          const price = this.#priceFor(s, bar, batch);
          if (price !== undefined) this.#execute(s, bar, price, fills);
        }
      }
    }
    return fills;
  }

  #priceFor(s: Slot, bar: Bar, batch: number): number | undefined {
    if (s.placedInBatch < batch) {
      const price = s.priceBatch < batch ? s.price : s.priorPrice;
      return fillPrice({ side: s.order.side, type: s.order.type, price }, bar);
    }
    if (s.order.type === 'MARKET' && this.#opts.marketFill === 'CURRENT_CLOSE') return bar.close;
    return undefined;
  }

  #execute(s: Slot, bar: Bar, price: number, fills: Fill[]): void {
    const o = s.order;
    let quantity = o.quantity;
    if (o.reduceOnly) {
      const pos = this.#portfolio.position(o.symbol);
      if (pos === undefined || (pos.side === 'LONG') !== (o.side === 'SELL')) {
        this.#finish(s, { status: 'CANCELLED', reason: 'NOTHING_TO_REDUCE' });
        this.#cancelled.add('NOTHING_TO_REDUCE');
        return;
      }
      quantity = Math.min(quantity, pos.quantity);
    }
    const fill: Fill = Object.freeze({
      fillId: `F${++this.#fillSeq}`,
      orderId: o.clientOrderId,
      symbol: o.symbol,
      side: o.side,
      quantity,
      price,
      timestamp: bar.timestamp,
    });
    const effect = this.#portfolio.applyFill(fill);
    this.#finish(s, { status: 'FILLED', fillId: fill.fillId, quantity, price });
    this.#filled.add(o.origin);
    fills.push(fill);
    if (effect.before !== undefined && effect.after?.side !== effect.before.side) this.#cancelOrphans(o.symbol);
  }

  // Cancels reduce-only orders of `symbol` that would no longer reduce its position.
  #cancelOrphans(symbol: string): void {
    const pos = this.#portfolio.position(symbol);
    for (const s of this.#working.get(symbol)?.slice() ?? []) {
      if (!s.order.reduceOnly) continue;
      if (pos === undefined || (pos.side === 'LONG') !== (s.order.side === 'SELL')) {
        this.#finish(s, { status: 'CANCELLED', reason: 'POSITION_CLOSED' });
        this.#cancelled.add('POSITION_CLOSED');
      }
    }
  }

  #finish(s: Slot, state: OrderState): void {
    s.state = state;
    const symbol = s.order.symbol;
    const list = this.#working.get(symbol);
    if (list !== undefined) {
      const i = list.indexOf(s);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.#working.delete(symbol);
    }
    this.#workingCount--;
    this.#finished.set(s.order.clientOrderId, true);
    if (this.#finished.size > this.#opts.maxOrderHistory) {
      const oldest = this.#finished.keys().next();
      if (!oldest.done) {
        this.#finished.delete(oldest.value);
        this.#orders.delete(oldest.value);
      }
    }
  }
}
