/**
 * A stand-in for a typical third-party trading engine with a plugin-factory API (the shape
 * of many bot frameworks): a plugin is a function of the engine's API returning hooks —
 * `onCandle` per candle, `onBeforeOpen` that may veto an order, `onOrderFilled`, `onAccount`.
 * Its records are its own: `pair` with a slash, timestamps in seconds, `o h l c v`. It is
 * not Bulwark's reference engine, and it knows nothing about Bulwark.
 */

/** A candle as this engine delivers it. */
export interface Candle {
  readonly pair: string;
  /** Open time, epoch seconds. */
  readonly ts: number;
  readonly o: number;
  readonly h: number;
  readonly l: number;
  readonly c: number;
  readonly v: number;
}

/** An order the strategy wants to open. */
export interface OpenIntent {
  readonly id: string;
  readonly pair: string;
  readonly direction: 'long' | 'short';
  readonly amount: number;
}

/** What a plugin's `onBeforeOpen` may answer: anything but a veto lets the order through. */
export type OpenVerdict = void | { readonly veto: true; readonly reason: string };

/** A fill of one of the engine's orders. */
export interface OrderFilled {
  readonly tradeId: string;
  readonly orderId: string;
  readonly pair: string;
  readonly side: 'buy' | 'sell';
  readonly amount: number;
  readonly price: number;
  /** Epoch seconds. */
  readonly ts: number;
}

/** An open trade. */
export interface Trade {
  readonly pair: string;
  readonly direction: 'long' | 'short';
  readonly amount: number;
  readonly openRate: number;
  /** Epoch seconds. */
  readonly openedAt: number;
}

/** The engine's account view. */
export interface Account {
  readonly ts: number;
  readonly equity: number;
  readonly trades: readonly Trade[];
}

/** What the engine hands a plugin factory. */
export interface HostApi {
  /** Places a stop order that closes `amount` of `pair` when the price crosses `stopPrice`; returns its id. */
  placeStop(pair: string, side: 'buy' | 'sell', amount: number, stopPrice: number, id: string): Promise<string>;
  moveStop(id: string, stopPrice: number): Promise<void>;
  cancelOrder(id: string): Promise<void>;
  /** Closes `amount` of the trade at market now. */
  closeTrade(pair: string, amount: number, id: string): Promise<void>;
  openOrders(): Promise<
    readonly {
      readonly id: string;
      readonly pair: string;
      readonly side: 'buy' | 'sell';
      readonly amount: number;
      readonly stopPrice?: number;
    }[]
  >;
  account(): Account;
  /** Engine time, epoch seconds. */
  now(): number;
}

/** The hooks a plugin returns. */
export interface HostPlugin {
  readonly name: string;
  start?(): Promise<void> | void;
  onCandle?(candle: Candle): Promise<void> | void;
  onBeforeOpen?(intent: OpenIntent): Promise<OpenVerdict> | OpenVerdict;
  onOrderFilled?(fill: OrderFilled): Promise<void> | void;
  onAccount?(account: Account): Promise<void> | void;
  stop?(): Promise<void> | void;
}

/** A plugin factory, the unit this engine registers. */
export type PluginFactory = (api: HostApi) => HostPlugin;

interface RestingStop {
  id: string;
  pair: string;
  side: 'buy' | 'sell';
  amount: number;
  stopPrice: number;
}

/**
 * The engine: candles in time order; the strategy asks to open trades (every plugin may veto);
 * resting stops fill when a candle trades through them; an account snapshot after each candle
 * time. Everything in memory, for the example and its test.
 */
export class FactoryEngine {
  readonly log: string[] = [];
  readonly #plugins: HostPlugin[] = [];
  readonly #trades = new Map<string, Trade>();
  readonly #stops = new Map<string, RestingStop>();
  readonly #last = new Map<string, number>();
  #cash: number;
  #now = 0;
  #fills = 0;

  constructor(cash = 100_000) {
    this.#cash = cash;
  }

  register(factory: PluginFactory): void {
    this.#plugins.push(factory(this.#api()));
  }

  /** Trades open now. */
  get trades(): readonly Trade[] {
    return [...this.#trades.values()];
  }

  /** Stops resting now. */
  get stops(): readonly RestingStop[] {
    return [...this.#stops.values()];
  }

  async start(): Promise<void> {
    for (const p of this.#plugins) await p.start?.();
  }

  /** Asks every plugin, then opens the trade at the pair's last price (or says who vetoed). */
  async open(intent: OpenIntent): Promise<{ readonly opened: boolean; readonly reason?: string }> {
    for (const p of this.#plugins) {
      const verdict = await p.onBeforeOpen?.(intent);
      if (verdict !== undefined && verdict.veto) {
        this.log.push(`veto ${intent.id} by ${p.name}: ${verdict.reason}`);
        return { opened: false, reason: verdict.reason };
      }
    }
    const price = this.#last.get(intent.pair);
    if (price === undefined) return { opened: false, reason: 'no price' };
    this.#trades.set(intent.pair, {
      pair: intent.pair,
      direction: intent.direction,
      amount: intent.amount,
      openRate: price,
      openedAt: this.#now,
    });
    this.#cash -= (intent.direction === 'long' ? 1 : -1) * intent.amount * price;
    await this.#fill(intent.id, intent.pair, intent.direction === 'long' ? 'buy' : 'sell', intent.amount, price);
    return { opened: true };
  }

  /** One time step: candles of several pairs with the same `ts`. */
  async step(candles: readonly Candle[]): Promise<void> {
    for (const candle of candles) {
      this.#now = candle.ts;
      this.#last.set(candle.pair, candle.c);
      for (const s of [...this.#stops.values()]) {
        if (s.pair !== candle.pair) continue;
        const hit = s.side === 'sell' ? candle.l <= s.stopPrice : candle.h >= s.stopPrice;
        if (hit)
          await this.#closeBy(
            s.id,
            s.pair,
            s.amount,
            s.side === 'sell' ? Math.min(candle.o, s.stopPrice) : Math.max(candle.o, s.stopPrice),
          );
      }
      for (const p of this.#plugins) await p.onCandle?.(candle);
    }
    const account = this.#account();
    for (const p of this.#plugins) await p.onAccount?.(account);
  }

  async #closeBy(orderId: string, pair: string, amount: number, price: number): Promise<void> {
    const t = this.#trades.get(pair);
    this.#stops.delete(orderId);
    if (t === undefined) return;
    this.#trades.delete(pair);
    this.#cash += (t.direction === 'long' ? 1 : -1) * t.amount * price;
    await this.#fill(orderId, pair, t.direction === 'long' ? 'sell' : 'buy', Math.min(amount, t.amount), price);
  }

  async #fill(orderId: string, pair: string, side: 'buy' | 'sell', amount: number, price: number): Promise<void> {
    const fill: OrderFilled = { tradeId: `t${++this.#fills}`, orderId, pair, side, amount, price, ts: this.#now };
    for (const p of this.#plugins) await p.onOrderFilled?.(fill);
  }

  #account(): Account {
    let equity = this.#cash;
    for (const t of this.#trades.values())
      equity += (t.direction === 'long' ? 1 : -1) * t.amount * (this.#last.get(t.pair) ?? t.openRate);
    return { ts: this.#now, equity, trades: this.trades };
  }

  #api(): HostApi {
    return {
      placeStop: async (pair, side, amount, stopPrice, id) => {
        this.#stops.set(id, { id, pair, side, amount, stopPrice });
        this.log.push(`stop ${id} ${pair} ${side} @ ${stopPrice.toFixed(4)}`);
        return id;
      },
      moveStop: async (id, stopPrice) => {
        const s = this.#stops.get(id);
        if (s === undefined) throw new Error(`unknown order ${id}`);
        s.stopPrice = stopPrice;
      },
      cancelOrder: async (id) => void this.#stops.delete(id),
      closeTrade: async (pair, amount, id) => this.#closeBy(id, pair, amount, this.#last.get(pair) ?? Number.NaN),
      openOrders: async () => [...this.#stops.values()].map((s) => ({ ...s })),
      account: () => this.#account(),
      now: () => this.#now,
    };
  }
}
