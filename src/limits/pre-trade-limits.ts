import type { OrderRequest } from '../vocabulary/orders.js';
import type { DenyCode } from '../vocabulary/reason-codes.js';
import { ExposureBook } from './exposure-book.js';
import { sessionDayOf, sessionOffsetMs, type PreTradeConfig } from './pre-trade-config.js';

/** The exposure the pre-trade limits check against, as `toJSON()` shows it. */
export interface ExposureView {
  /** Σ |position notional| at the marks. */
  readonly grossExposure: number;
  /** Σ signed position notional. */
  readonly netExposure: number;
  /** Each group's gross. */
  readonly groups: Readonly<Record<string, number>>;
  /** Open positions. */
  readonly openPositions: number;
  /** Entries admitted this session day. */
  readonly ordersToday: number;
}

/** A limit's refusal: the deny code and a message with the numbers. */
export interface LimitDenial {
  readonly code: DenyCode;
  readonly message: string;
}

/** A reservation's key: the same client id may be used in two symbols. */
const reservationKey = (symbol: string, clientOrderId: string) => `${symbol}\u0000${clientOrderId}`;
/** Allowed entries awaiting fills, at most (the oldest gives way). */
const MAX_RESERVED = 100_000;
/** Equal passes: a value counts as over a limit only beyond float noise (far below one tick). */
const over = (value: number, limit: number) => value > limit + 1e-10 * Math.max(1, limit);
const fmt = (x: number) => (Math.abs(x) >= 1e6 ? x.toExponential(6) : String(Math.round(x * 1e6) / 1e6));

/**
 * The pre-trade limits of `preTrade` over the plugin's own {@link ExposureBook}: each check is
 * O(1) (O(groups of the symbol) for group limits). Only orders that add exposure are checked;
 * exits never reach here. Entries are counted per session day for `maxOrdersPerDay`.
 *
 * @example
 * ```ts
 * const limits = new PreTradeLimits({ maxOrderNotional: 50_000 }, '00:00Z', () => Date.now());
 * limits.check(order); // undefined, or { code: 'ORDER_NOTIONAL_LIMIT', message: '…' }
 * ```
 */
export class PreTradeLimits {
  readonly book: ExposureBook;
  readonly #c: PreTradeConfig;
  readonly #now: () => number;
  readonly #sessionOffset: number;
  /** Per symbol: the limited groups it is in, with their limits. */
  readonly #limitedGroupsOf = new Map<string, (readonly [string, number])[]>();
  /** Whether any notional limit is set (they all need the order's price). */
  readonly #needsPrice: boolean;
  #day = Number.NaN;
  #ordersToday = 0;
  /**
   * Entries allowed and not yet filled, by symbol and client order id (their remaining signed quantity):
   * they count in the book until their fills arrive or the next snapshot, so a burst of
   * entries in one batch is limited as a whole.
   */
  readonly #reserved = new Map<string, { readonly symbol: string; signed: number }>();

  constructor(config: PreTradeConfig, sessionStart: string, now: () => number) {
    this.#c = config;
    this.#now = now;
    this.#sessionOffset = sessionOffsetMs(sessionStart) ?? 0;
    this.book = new ExposureBook(config.groups ?? {});
    const limits = Object.entries(config.maxGroupNotional ?? {});
    this.#needsPrice =
      config.maxOrderNotional !== undefined ||
      config.maxPositionNotional !== undefined ||
      config.positionNotionalBySymbol !== undefined ||
      limits.length > 0 ||
      config.maxGrossExposure !== undefined ||
      config.maxNetExposure !== undefined;
    for (const [name, limit] of limits)
      for (const symbol of new Set(config.groups?.[name] ?? [])) {
        const list = this.#limitedGroupsOf.get(symbol);
        if (list === undefined) this.#limitedGroupsOf.set(symbol, [[name, limit]]);
        else list.push([name, limit]);
      }
  }

  /** Entries admitted in the current session day. */
  get ordersToday(): number {
    this.#rollover();
    return this.#ordersToday;
  }

  /** The refusal of the first limit `o` (an entry) would break, or undefined when it may pass. */
  check(o: OrderRequest): LimitDenial | undefined {
    const c = this.#c;
    const book = this.book;
    const mark = book.mark(o.symbol);
    // The order's price: its limit or stop price, else the last accepted close.
    const price = o.type !== 'MARKET' && o.price !== undefined ? o.price : mark;
    if (c.priceBandPercent !== undefined && o.type !== 'MARKET') {
      if (mark === undefined || o.price === undefined)
        return { code: 'PRICE_BAND', message: `no accepted close for ${o.symbol} to check the price band against` };
      const off = (Math.abs(o.price - mark) / mark) * 100;
      if (over(off, c.priceBandPercent))
        return {
          code: 'PRICE_BAND',
          message: `price ${fmt(o.price)} is ${fmt(off)} % from the last close ${fmt(mark)} (band ${c.priceBandPercent} %)`,
        };
    }
    if (c.maxOrdersPerDay !== undefined) {
      this.#rollover();
      if (this.#ordersToday + 1 > c.maxOrdersPerDay)
        return {
          code: 'DAILY_ORDER_LIMIT',
          message: `${this.#ordersToday} entries today: maxOrdersPerDay ${c.maxOrdersPerDay} reached`,
        };
    }
    if (price === undefined || !(price > 0)) {
      if (!this.#needsPrice) return this.#openPositions(o);
      return {
        code: c.maxOrderNotional !== undefined ? 'ORDER_NOTIONAL_LIMIT' : 'POSITION_NOTIONAL_LIMIT',
        message: `no price for ${o.symbol} (no limit or stop price, no accepted close) to check the notional limits with`,
      };
    }
    const orderNotional = o.quantity * price;
    if (c.maxOrderNotional !== undefined && over(orderNotional, c.maxOrderNotional))
      return {
        code: 'ORDER_NOTIONAL_LIMIT',
        message: `order notional ${fmt(orderNotional)} over maxOrderNotional ${c.maxOrderNotional}`,
      };
    // The position after the order, at the symbol's mark (the order's price where it has none).
    const at = mark ?? price;
    const before = book.notional(o.symbol);
    const qAfter = book.quantity(o.symbol) + (o.side === 'BUY' ? o.quantity : -o.quantity);
    const after = qAfter * at;
    const positionLimit = c.positionNotionalBySymbol?.[o.symbol] ?? c.maxPositionNotional;
    if (positionLimit !== undefined && over(Math.abs(after), positionLimit))
      return {
        code: 'POSITION_NOTIONAL_LIMIT',
        message: `${o.symbol} position notional would be ${fmt(Math.abs(after))}, over its limit ${positionLimit}`,
      };
    const dGross = Math.abs(after) - Math.abs(before);
    for (const [name, limit] of this.limitedGroupsOf(o.symbol)) {
      const g = book.groupGross(name) + dGross;
      if (over(g, limit))
        return {
          code: 'GROUP_NOTIONAL_LIMIT',
          message: `group ${name} notional would be ${fmt(g)}, over maxGroupNotional ${limit}`,
        };
    }
    if (c.maxGrossExposure !== undefined) {
      const gross = book.gross + dGross;
      if (over(gross, c.maxGrossExposure))
        return {
          code: 'GROSS_EXPOSURE_LIMIT',
          message: `gross exposure would be ${fmt(gross)}, over maxGrossExposure ${c.maxGrossExposure}`,
        };
    }
    if (c.maxNetExposure !== undefined) {
      const net = Math.abs(book.net + after - before);
      if (over(net, c.maxNetExposure))
        return {
          code: 'NET_EXPOSURE_LIMIT',
          message: `net exposure would be ${fmt(net)}, over maxNetExposure ${c.maxNetExposure}`,
        };
    }
    return this.#openPositions(o);
  }

  /** The groups with a `maxGroupNotional` that `symbol` is in, with their limits. */
  limitedGroupsOf(symbol: string): readonly (readonly [string, number])[] {
    return this.#limitedGroupsOf.get(symbol) ?? [];
  }

  /** What the limits see now, for `toJSON()` and reports. */
  view(): ExposureView {
    const book = this.book;
    return Object.freeze({
      grossExposure: book.gross,
      netExposure: book.net,
      groups: Object.freeze(book.groups()),
      openPositions: book.openPositions,
      ordersToday: this.ordersToday,
    });
  }

  /**
   * An entry was allowed: counted against the day's `maxOrdersPerDay`, and reserved in the
   * book at its check price until its fills (or the next snapshot) replace it.
   */
  admitted(o: OrderRequest): void {
    this.#rollover();
    this.#ordersToday++;
    const at = o.type !== 'MARKET' && o.price !== undefined ? o.price : this.book.mark(o.symbol);
    if (at === undefined || !(at > 0)) return;
    if (this.#reserved.size >= MAX_RESERVED) {
      // The oldest reservation gives way (bounded memory): its order has long had time to fill.
      const [oldest] = this.#reserved;
      if (oldest !== undefined) this.#release(oldest[0], oldest[1]);
    }
    this.book.applyFill(o.symbol, o.side, o.quantity, at);
    const signed = o.side === 'BUY' ? o.quantity : -o.quantity;
    const key = reservationKey(o.symbol, o.clientOrderId);
    const held = this.#reserved.get(key);
    if (held !== undefined) held.signed += signed;
    else this.#reserved.set(key, { symbol: o.symbol, signed });
  }

  /** Entries allowed and not yet filled (reserved in the book). */
  get reserved(): number {
    return this.#reserved.size;
  }

  /** One execution: what an allowed entry reserved is taken off its reservation, the rest applied. */
  onFill(fill: {
    readonly orderId: string;
    readonly symbol: string;
    readonly side: 'BUY' | 'SELL';
    readonly quantity: number;
    readonly price: number;
  }): void {
    let rest = fill.quantity;
    const key = reservationKey(fill.symbol, fill.orderId);
    const r = this.#reserved.get(key);
    const sign = fill.side === 'BUY' ? 1 : -1;
    if (r !== undefined && Math.sign(r.signed) === sign) {
      const take = Math.min(Math.abs(r.signed), rest);
      r.signed -= sign * take;
      rest -= take;
      if (Math.abs(r.signed) <= 1e-12 * Math.max(1, take)) this.#reserved.delete(key);
    }
    if (rest > 1e-12 * Math.max(1, fill.quantity)) this.book.applyFill(fill.symbol, fill.side, rest, fill.price);
  }

  /**
   * A snapshot: the host's positions replace the book's (reservations end: what filled is in
   * the snapshot). Returns the symbols whose quantity the snapshot changed.
   */
  onSnapshot(
    positions: readonly { readonly symbol: string; readonly signed: number; readonly price?: number | undefined }[],
  ): { readonly symbol: string; readonly was: number; readonly now: number }[] {
    for (const [id, r] of this.#reserved) this.#release(id, r);
    return this.book.replaceAll(positions);
  }

  #release(id: string, r: { readonly symbol: string; signed: number }): void {
    this.#reserved.delete(id);
    if (r.signed !== 0) this.book.applyFill(r.symbol, r.signed > 0 ? 'SELL' : 'BUY', Math.abs(r.signed), 0);
  }

  #openPositions(o: OrderRequest): LimitDenial | undefined {
    const max = this.#c.maxOpenPositions;
    if (max === undefined) return undefined;
    // After the order: a new position counts one (an order adding to one does not, but the
    // book may already be over the limit through fills and snapshots).
    const after = this.book.openPositions + (this.book.quantity(o.symbol) === 0 ? 1 : 0);
    if (after > max)
      return {
        code: 'OPEN_POSITIONS_LIMIT',
        message: `${after} positions would be open, over maxOpenPositions ${max}`,
      };
    return undefined;
  }

  #rollover(): void {
    const day = sessionDayOf(this.#now(), this.#sessionOffset);
    if (day !== this.#day) {
      this.#day = day;
      this.#ordersToday = 0;
    }
  }
}
