import type { Bar, Fill, PortfolioSnapshot, Position } from '../vocabulary/market.js';
import type { PortfolioService } from '../vocabulary/services.js';

// Quantities within this fraction of a position are treated as equal (floating-point dust).
const QTY_EPSILON = 1e-12;

/** What one fill did to a position. */
export interface FillEffect {
  /** The position before the fill (undefined when flat). */
  readonly before: Position | undefined;
  /** The position after the fill (undefined when flat). */
  readonly after: Position | undefined;
  /** P&L realised by the part of the fill that reduced or closed a position. */
  readonly realised: number;
}

/** What the engine lets callers read of its books. */
export interface PortfolioView extends PortfolioService {
  /** Cash now: starting cash, minus what buys cost, plus what sales brought (no commissions or financing). */
  readonly cash: number;
  /** P&L realised so far by reductions, closes and flips. */
  readonly realisedPnl: number;
  /** The position in `symbol`, or undefined when flat. */
  position(symbol: string): Position | undefined;
  /** Every open position, synchronously, as one frozen array. */
  list(): readonly Position[];
  /** The last close seen for `symbol`; undefined before its first bar. */
  markOf(symbol: string): number | undefined;
  /** Cash plus every position marked at its symbol's last close (at its entry price before the first close). */
  equity(): number;
  /** Unrealised P&L of every position at its mark. */
  unrealisedPnl(): number;
  /** A frozen snapshot at `timestamp` (epoch ms) with the current equity and positions. */
  snapshot(timestamp: number): PortfolioSnapshot;
}

/**
 * The engine's books: cash, one net position per symbol (netting), realised P&L, and marks
 * (each symbol's last close). Equity = cash + Σ signed quantity × mark, where a symbol without
 * a mark yet is marked at its entry price. A short sale credits cash, a buy debits it; no
 * commissions or financing.
 *
 * Positions are frozen objects replaced on change; `positions()` returns one frozen array,
 * rebuilt only after a position changed, so snapshots share it instead of copying it.
 *
 * @example
 * ```ts
 * const p = new Portfolio(100_000);
 * p.applyFill({ fillId: 'F1', orderId: 'o1', symbol: 'ACME', side: 'BUY', quantity: 10, price: 50, timestamp: t });
 * p.mark([{ ...bar, symbol: 'ACME', close: 55 }]);
 * p.equity(); // 100_050
 * ```
 */
export class Portfolio implements PortfolioView {
  #cash: number;
  #realised = 0;
  readonly #positions = new Map<string, Position>();
  readonly #marks = new Map<string, number>();
  #list: readonly Position[] | undefined = Object.freeze([]);

  constructor(startingCash: number) {
    this.#cash = startingCash;
  }

  /** Cash now. */
  get cash(): number {
    return this.#cash;
  }

  /** P&L realised so far by reductions, closes and flips. */
  get realisedPnl(): number {
    return this.#realised;
  }

  /** The position in `symbol`, or undefined when flat. */
  position(symbol: string): Position | undefined {
    return this.#positions.get(symbol);
  }

  /** Every open position, one frozen array (the {@link PortfolioService} call). */
  positions(): Promise<readonly Position[]> {
    return Promise.resolve(this.list());
  }

  /** Every open position, synchronously. */
  list(): readonly Position[] {
    return (this.#list ??= Object.freeze([...this.#positions.values()]));
  }

  /** The last close seen for `symbol`. */
  markOf(symbol: string): number | undefined {
    return this.#marks.get(symbol);
  }

  /** Cash + every position marked at its symbol's last close. */
  equity(): number {
    let e = this.#cash;
    for (const p of this.#positions.values()) {
      const mark = this.#marks.get(p.symbol) ?? p.entryPrice;
      e += (p.side === 'LONG' ? p.quantity : -p.quantity) * mark;
    }
    return e;
  }

  /** Unrealised P&L of every position at its mark. */
  unrealisedPnl(): number {
    let u = 0;
    for (const p of this.#positions.values()) {
      const mark = this.#marks.get(p.symbol) ?? p.entryPrice;
      u += (p.side === 'LONG' ? 1 : -1) * p.quantity * (mark - p.entryPrice);
    }
    return u;
  }

  /** Records each bar's close as its symbol's mark. */
  mark(bars: readonly Bar[]): void {
    for (const b of bars) this.#marks.set(b.symbol, b.close);
  }

  /**
   * Books one fill: adds to a position (new average entry price), reduces it (realising
   * P&L against the average entry), closes it, or flips it (closes, then opens the remainder
   * on the other side at the fill price, `openedAt` = fill time).
   */
  applyFill(fill: Fill): FillEffect {
    const { symbol, side, quantity: q, price, timestamp } = fill;
    this.#cash += side === 'BUY' ? -q * price : q * price;
    const before = this.#positions.get(symbol);
    const fillSide = side === 'BUY' ? 'LONG' : 'SHORT';
    let after: Position | undefined;
    let realised = 0;
    if (before === undefined) {
      after = Object.freeze({ symbol, side: fillSide, quantity: q, entryPrice: price, openedAt: timestamp });
    } else if (before.side === fillSide) {
      const quantity = before.quantity + q;
      const entryPrice = (before.entryPrice * before.quantity + price * q) / quantity;
      after = Object.freeze({ ...before, quantity, entryPrice });
    } else {
      const closed = Math.min(q, before.quantity);
      realised = (before.side === 'LONG' ? 1 : -1) * closed * (price - before.entryPrice);
      const remaining = before.quantity - q;
      const dust = before.quantity * QTY_EPSILON;
      if (remaining > dust) after = Object.freeze({ ...before, quantity: remaining });
      else if (remaining < -dust)
        after = Object.freeze({ symbol, side: fillSide, quantity: -remaining, entryPrice: price, openedAt: timestamp });
      else after = undefined;
    }
    this.#realised += realised;
    if (after === undefined) this.#positions.delete(symbol);
    else this.#positions.set(symbol, after);
    this.#list = undefined;
    return Object.freeze({ before, after, realised });
  }

  /** A frozen snapshot at `timestamp`; shares the positions array with {@link list}. */
  snapshot(timestamp: number): PortfolioSnapshot {
    return Object.freeze({ timestamp, equity: this.equity(), positions: this.list() });
  }
}
