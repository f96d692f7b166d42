/** A running sum with Neumaier's compensation: the rounding error of each addition is kept. */
class CompensatedSum {
  #sum = 0;
  #carry = 0;
  add(x: number): void {
    const t = this.#sum + x;
    this.#carry += Math.abs(this.#sum) >= Math.abs(x) ? this.#sum - t + x : x - t + this.#sum;
    this.#sum = t;
  }
  get value(): number {
    return this.#sum + this.#carry;
  }
}

/** Gross and net notional of a set of symbols. */
interface Sums {
  readonly gross: CompensatedSum;
  readonly net: CompensatedSum;
}

const newSums = (): Sums => ({ gross: new CompensatedSum(), net: new CompensatedSum() });

/**
 * The plugin's own book of positions for the pre-trade limits: a signed quantity and a mark
 * price per symbol (the last accepted close, else the price the position was last seen at),
 * and running sums of gross (Σ |q × mark|) and net (Σ q × mark) notional, overall and per
 * group. Every update changes one symbol's contribution, so each costs O(groups of that
 * symbol), and every read is O(1): no scan of the positions per order.
 *
 * @example
 * ```ts
 * const book = new ExposureBook({ tech: ['AAPL', 'MSFT'] });
 * book.setMark('AAPL', 200);
 * book.applyFill('AAPL', 'BUY', 10, 199.5);
 * book.gross; // 2 000
 * ```
 */
export class ExposureBook {
  readonly #qty = new Map<string, number>();
  readonly #mark = new Map<string, number>();
  readonly #all = newSums();
  readonly #groups = new Map<string, Sums>();
  /** The groups each symbol is in. */
  readonly #groupsOf = new Map<string, Sums[]>();
  #open = 0;

  constructor(groups: Readonly<Record<string, readonly string[]>> = {}) {
    for (const [name, symbols] of Object.entries(groups)) {
      const sums = newSums();
      this.#groups.set(name, sums);
      for (const s of new Set(symbols)) {
        const list = this.#groupsOf.get(s);
        if (list === undefined) this.#groupsOf.set(s, [sums]);
        else list.push(sums);
      }
    }
  }

  /** Σ |position notional| over every symbol. */
  get gross(): number {
    return this.#all.gross.value;
  }

  /** Σ signed position notional (longs positive, shorts negative). */
  get net(): number {
    return this.#all.net.value;
  }

  /** Open (non-zero) positions. */
  get openPositions(): number {
    return this.#open;
  }

  /** Σ |position notional| of a group's symbols; 0 for an unknown group. */
  groupGross(name: string): number {
    return this.#groups.get(name)?.gross.value ?? 0;
  }

  /** Every group's gross, by name. */
  groups(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, sums] of this.#groups) out[name] = sums.gross.value;
    return out;
  }

  /** `symbol`'s signed quantity (0 when flat). */
  quantity(symbol: string): number {
    return this.#qty.get(symbol) ?? 0;
  }

  /** `symbol`'s mark price, if any. */
  mark(symbol: string): number | undefined {
    return this.#mark.get(symbol);
  }

  /** Signed notional of `symbol`'s position at its mark (0 without one). */
  notional(symbol: string): number {
    return this.quantity(symbol) * (this.#mark.get(symbol) ?? 0);
  }

  /** A new mark for `symbol` (an accepted close). */
  setMark(symbol: string, price: number): void {
    const q = this.#qty.get(symbol);
    if (q === undefined || q === 0) {
      // A flat symbol contributes nothing: only remember the price (bounded by the symbols traded).
      this.#mark.set(symbol, price);
      return;
    }
    this.#change(symbol, q, price);
  }

  /**
   * `symbol`'s position is now `signed` (a snapshot's word). `price` is its mark when the
   * symbol has none yet (the entry price a snapshot gives).
   */
  setQuantity(symbol: string, signed: number, price?: number): void {
    const mark = this.#mark.get(symbol) ?? price ?? 0;
    this.#change(symbol, signed, mark);
  }

  /** One execution: BUY adds, SELL takes off; `price` marks a symbol that has no mark yet. */
  applyFill(symbol: string, side: 'BUY' | 'SELL', quantity: number, price: number): void {
    const q = this.quantity(symbol) + (side === 'BUY' ? quantity : -quantity);
    // A position closed by fills to within float dust is flat.
    const signed = Math.abs(q) <= 1e-12 * Math.max(1, quantity) ? 0 : q;
    this.setQuantity(symbol, signed, price);
  }

  /**
   * Replaces every position with a snapshot's (symbols not in it are flat). Returns the
   * symbols whose quantity the snapshot changed (fills and snapshot disagreed), with both.
   */
  replaceAll(
    positions: readonly { readonly symbol: string; readonly signed: number; readonly price?: number | undefined }[],
  ): { readonly symbol: string; readonly was: number; readonly now: number }[] {
    const changed: { symbol: string; was: number; now: number }[] = [];
    const seen = new Set<string>();
    for (const p of positions) {
      seen.add(p.symbol);
      const was = this.quantity(p.symbol);
      if (Math.abs(was - p.signed) > 1e-9 * Math.max(1, Math.abs(p.signed)))
        changed.push({ symbol: p.symbol, was, now: p.signed });
      this.setQuantity(p.symbol, p.signed, p.price);
    }
    for (const [symbol, q] of this.#qty)
      if (!seen.has(symbol) && q !== 0) {
        changed.push({ symbol, was: q, now: 0 });
        this.setQuantity(symbol, 0);
      }
    return changed;
  }

  #change(symbol: string, signed: number, mark: number): void {
    const before = this.quantity(symbol) * (this.#mark.get(symbol) ?? 0);
    const after = signed * mark;
    const was = this.quantity(symbol);
    if (was === 0 && signed !== 0) this.#open++;
    else if (was !== 0 && signed === 0) this.#open--;
    if (signed === 0) this.#qty.delete(symbol);
    else this.#qty.set(symbol, signed);
    if (mark > 0) this.#mark.set(symbol, mark);
    const dGross = Math.abs(after) - Math.abs(before);
    const dNet = after - before;
    if (dGross === 0 && dNet === 0) return;
    this.#all.gross.add(dGross);
    this.#all.net.add(dNet);
    for (const g of this.#groupsOf.get(symbol) ?? []) {
      g.gross.add(dGross);
      g.net.add(dNet);
    }
  }
}
