/** An order as the simulated broker holds it (the protocol's order object, numbers as numbers). */
export interface SimOrder {
  /** Instrument of the order. */
  readonly symbol: string;
  /** The broker's own id, assigned from 1 in order of acceptance. */
  readonly orderId: number;
  /** The client's id (`newClientOrderId`); the book never accepts one twice. */
  readonly clientOrderId: string;
  /** BUY or SELL. */
  readonly side: 'BUY' | 'SELL';
  /** MARKET and STOP_MARKET fill at the last price; LIMIT fills at its limit price. */
  readonly type: 'MARKET' | 'LIMIT' | 'STOP_MARKET';
  /** NEW while working, then FILLED (always in full) or CANCELED; the book itself never sets REJECTED. */
  status: 'NEW' | 'FILLED' | 'CANCELED' | 'REJECTED';
  /** Total quantity; an amend may change it while the order is NEW. */
  quantity: number;
  /** 0 while NEW; the whole `quantity` once FILLED. */
  executedQty: number;
  /** Limit price of a LIMIT order. */
  price?: number;
  /** Trigger price of a STOP_MARKET order. */
  stopPrice?: number;
  /** The client's reduce-only flag, echoed back; the simulator does not enforce it. */
  readonly reduceOnly: boolean;
  /** When the order last changed (placed, amended, filled or cancelled), in epoch ms on the broker's clock. */
  updateTime: number;
  /** Price of the last fill. */
  lastPrice?: number;
}

/** One execution, as the broker records it: the truth tests judge the client by. */
export interface SimExecution {
  /** Client id of the order that filled. */
  readonly clientOrderId: string;
  /** Instrument of the execution. */
  readonly symbol: string;
  /** BUY or SELL. */
  readonly side: 'BUY' | 'SELL';
  /** Executed quantity: the order's whole quantity. */
  readonly quantity: number;
  /** Execution price. */
  readonly price: number;
  /** When it executed, in epoch ms on the broker's clock. */
  readonly time: number;
}

/**
 * The simulated broker's order book: orders by client id (a client id is never accepted
 * twice), last prices, and matching — MARKET at the last price, STOP_MARKET when a fed price
 * reaches the stop (SELL: at or below; BUY: at or above), LIMIT when the price crosses. Every
 * fill is recorded in `executions`.
 *
 * @example
 * ```ts
 * const book = new SimBook(() => Date.now());
 * book.setPrice('AAA', 100);
 * book.place({ ... });
 * const fills = book.setPrice('AAA', 95); // stops at or above 95 (SELL) fire
 * ```
 */
export class SimBook {
  readonly #orders = new Map<string, SimOrder>();
  readonly #prices = new Map<string, number>();
  /** Every fill, in the order they happened: the broker's truth. */
  readonly executions: SimExecution[] = [];
  readonly #now: () => number;
  #nextOrderId = 1;

  constructor(now: () => number) {
    this.#now = now;
  }

  /** The order with this client id, if the broker ever accepted it. */
  get(clientOrderId: string): SimOrder | undefined {
    return this.#orders.get(clientOrderId);
  }

  /** Orders still working (NEW), optionally of one symbol. */
  open(symbol?: string): SimOrder[] {
    return [...this.#orders.values()].filter(
      (o) => o.status === 'NEW' && (symbol === undefined || o.symbol === symbol),
    );
  }

  /** Last price of `symbol`, if fed. */
  price(symbol: string): number | undefined {
    return this.#prices.get(symbol);
  }

  /** Accepts a new order (the caller has checked its fields and that the id is new); fills what it can. */
  place(o: Omit<SimOrder, 'orderId' | 'status' | 'executedQty' | 'updateTime'>): {
    order: SimOrder;
    fills: SimOrder[];
  } {
    const order: SimOrder = {
      ...o,
      orderId: this.#nextOrderId++,
      status: 'NEW',
      executedQty: 0,
      updateTime: this.#now(),
    };
    this.#orders.set(order.clientOrderId, order);
    const last = this.#prices.get(order.symbol);
    const fills: SimOrder[] = [];
    if (last !== undefined && this.#triggered(order, last)) {
      this.#fill(order, order.type === 'LIMIT' ? (order.price as number) : last);
      fills.push(order);
    }
    return { order, fills };
  }

  /** Feeds a price; returns the orders it filled. */
  setPrice(symbol: string, price: number): SimOrder[] {
    this.#prices.set(symbol, price);
    const fills: SimOrder[] = [];
    for (const order of this.open(symbol)) {
      if (this.#triggered(order, price)) {
        this.#fill(order, order.type === 'LIMIT' ? (order.price as number) : price);
        fills.push(order);
      }
    }
    return fills;
  }

  /** Cancels a working order; false when it is unknown or final. */
  cancel(clientOrderId: string): SimOrder | undefined {
    const o = this.#orders.get(clientOrderId);
    if (o === undefined || o.status !== 'NEW') return undefined;
    o.status = 'CANCELED';
    o.updateTime = this.#now();
    return o;
  }

  #triggered(o: SimOrder, price: number): boolean {
    if (o.type === 'MARKET') return true;
    if (o.type === 'STOP_MARKET')
      return o.side === 'SELL' ? price <= (o.stopPrice as number) : price >= (o.stopPrice as number);
    return o.side === 'BUY' ? price <= (o.price as number) : price >= (o.price as number);
  }

  #fill(o: SimOrder, price: number): void {
    o.status = 'FILLED';
    o.executedQty = o.quantity;
    o.updateTime = this.#now();
    o.lastPrice = price;
    this.executions.push({
      clientOrderId: o.clientOrderId,
      symbol: o.symbol,
      side: o.side,
      quantity: o.quantity,
      price,
      time: o.updateTime,
    });
  }
}
