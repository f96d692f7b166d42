/** An order as the simulated broker holds it (the protocol's order object, numbers as numbers). */
export interface SimOrder {
  readonly symbol: string;
  readonly orderId: number;
  readonly clientOrderId: string;
  readonly side: 'BUY' | 'SELL';
  readonly type: 'MARKET' | 'LIMIT' | 'STOP_MARKET';
  status: 'NEW' | 'FILLED' | 'CANCELED' | 'REJECTED';
  quantity: number;
  executedQty: number;
  price?: number;
  stopPrice?: number;
  readonly reduceOnly: boolean;
  updateTime: number;
  /** Price of the last fill. */
  lastPrice?: number;
}

/** One execution, as the broker records it: the truth tests judge the client by. */
export interface SimExecution {
  readonly clientOrderId: string;
  readonly symbol: string;
  readonly side: 'BUY' | 'SELL';
  readonly quantity: number;
  readonly price: number;
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
