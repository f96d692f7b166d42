import { grown } from '../util/typed-arrays.js';
import type { Bar } from '../vocabulary/market.js';
import { at, f64At, i32At } from '../util/indexed.js';

/**
 * A batch of bars as columns (structure of arrays): row i is one bar, with its registry slot.
 * The hot path validates bars straight into these columns, so no object is allocated per bar
 * and the caller's objects are never kept (they may be mutated or reused once `onBars`
 * returns). The columns are reused from batch to batch; they grow (doubling) with the
 * largest batch seen and never shrink.
 *
 * {@link BarColumns.row} is a cursor: one reusable {@link Bar} view whose fields read row
 * `at`. Code that takes a `Bar` and only reads it during the call works on it unchanged;
 * nothing may keep it (copy the fields instead).
 *
 * @example
 * ```ts
 * const cols = new BarColumns();
 * const i = cols.push(registry.register('AAPL'), 'AAPL', t, 10, 11, 9, 10.5, 1_000);
 * const bar = cols.row;
 * bar.at = i;
 * stops.onBar(bar, atr);
 * ```
 */
export class BarColumns {
  /** Rows in use. */
  size = 0;
  symbol: string[] = [];
  slot = new Int32Array(0);
  timestamp = new Float64Array(0);
  open = new Float64Array(0);
  high = new Float64Array(0);
  low = new Float64Array(0);
  close = new Float64Array(0);
  volume = new Float64Array(0);
  /** The reusable row cursor (see the class notes). */
  readonly row: BarRow;

  constructor(initialRows = 1_024) {
    this.#resize(Math.max(1, initialRows));
    this.row = new BarRow(this);
  }

  /** Rows the columns hold before they next grow. */
  get capacity(): number {
    return this.slot.length;
  }

  /** Empties the batch (keeps the memory). */
  clear(): void {
    this.size = 0;
  }

  /** Appends a bar with its slot (−1: not known yet, the caller sets `slot[row]` later); returns its row. */
  push(
    slot: number,
    symbol: string,
    timestamp: number,
    open: number,
    high: number,
    low: number,
    close: number,
    volume: number,
  ): number {
    const i = this.size;
    if (i === this.slot.length) this.#resize(2 * i);
    this.symbol[i] = symbol;
    this.slot[i] = slot;
    this.timestamp[i] = timestamp;
    this.open[i] = open;
    this.high[i] = high;
    this.low[i] = low;
    this.close[i] = close;
    this.volume[i] = volume;
    this.size = i + 1;
    return i;
  }

  /** Drops the last row (a bar refused after it was written). */
  pop(): void {
    if (this.size > 0) this.size--;
  }

  /** A fresh, independent Bar object of row `i` (for code that keeps bars: a queue). */
  toBar(i: number): Bar {
    return {
      symbol: at(this.symbol, i),
      timestamp: f64At(this.timestamp, i),
      open: f64At(this.open, i),
      high: f64At(this.high, i),
      low: f64At(this.low, i),
      close: f64At(this.close, i),
      volume: f64At(this.volume, i),
    };
  }

  #resize(rows: number): void {
    this.slot = grown(this.slot, rows);
    this.timestamp = grown(this.timestamp, rows);
    this.open = grown(this.open, rows);
    this.high = grown(this.high, rows);
    this.low = grown(this.low, rows);
    this.close = grown(this.close, rows);
    this.volume = grown(this.volume, rows);
  }
}

/** A {@link Bar} view of one row of a {@link BarColumns}; `at` selects the row. */
export class BarRow implements Bar {
  /** The row this view reads. */
  at = 0;
  readonly #cols: BarColumns;

  constructor(cols: BarColumns) {
    this.#cols = cols;
  }

  get symbol(): string {
    return at(this.#cols.symbol, this.at);
  }

  get timestamp(): number {
    return f64At(this.#cols.timestamp, this.at);
  }

  get open(): number {
    return f64At(this.#cols.open, this.at);
  }

  get high(): number {
    return f64At(this.#cols.high, this.at);
  }

  get low(): number {
    return f64At(this.#cols.low, this.at);
  }

  get close(): number {
    return f64At(this.#cols.close, this.at);
  }

  get volume(): number {
    return f64At(this.#cols.volume, this.at);
  }

  /** The slot of the row (−1 when none). */
  get slot(): number {
    return i32At(this.#cols.slot, this.at);
  }
}
