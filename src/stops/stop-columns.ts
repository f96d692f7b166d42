import { BulwarkError } from '../errors.js';
import type { PositionSide } from '../vocabulary/market.js';
import { grown } from '../util/typed-arrays.js';
import { f64At } from '../util/indexed.js';

/**
 * The numbers every bar reads and writes for each managed position (stop, high and low water,
 * entry, version, side, open), as columns: one row per position, at most `maxRows` rows (the
 * columns double as positions come, up to that). The per-bar path of the stop manager reads
 * these typed arrays by row instead of chasing one heap object (and its boxed numbers) per
 * position. Take the arrays from the object each time: growing replaces them.
 *
 * @example
 * ```ts
 * const cols = new StopColumns(10_000);
 * const s = cols.create({ symbol: 'AAPL', side: 'LONG', quantity: 10, entryPrice: 100, openedAt: t, stop: NaN, version: 0, placed: false, orderId: 'bw-1' });
 * cols.highWater[s.row] = 101;
 * cols.release(s); // s keeps its last values, detached
 * ```
 */
export class StopColumns {
  stop = new Float64Array(0);
  highWater = new Float64Array(0);
  lowWater = new Float64Array(0);
  entryPrice = new Float64Array(0);
  version = new Float64Array(0);
  /** 1 for a LONG position, 0 for a SHORT one. */
  long = new Uint8Array(0);
  /** 1 while the position's status is OPEN. */
  open = new Uint8Array(0);
  /** The state object of each row in use. */
  readonly state: (StopState | undefined)[] = [];
  readonly #free: number[] = [];
  #used = 0;

  constructor(readonly maxRows: number) {
    this.#grow(Math.min(maxRows, 1_024));
  }

  /** Rows allocated now. */
  get capacity(): number {
    return this.stop.length;
  }

  /** Rows in use. */
  get size(): number {
    return this.#used;
  }

  /** A new open position in a free row (the caller keeps within `maxRows`). */
  create(init: StopStateInit): StopState {
    if (this.#free.length === 0 && this.capacity < this.maxRows) this.#grow(Math.min(this.maxRows, 2 * this.capacity));
    const row = this.#free.pop();
    if (row === undefined)
      throw new BulwarkError('LIMIT_EXCEEDED', `StopColumns: all ${this.maxRows} rows in use`, {
        maxRows: this.maxRows,
      });
    this.#used++;
    const s = new StopState(this, row, init);
    this.state[row] = s;
    return s;
  }

  /** Frees `s`'s row; `s` keeps its last values, detached from the columns. */
  release(s: StopState): void {
    const row = s.row;
    if (row < 0) return;
    s.detach();
    this.state[row] = undefined;
    this.open[row] = 0;
    this.#free.push(row);
    this.#used--;
  }

  /** Frees every row. */
  clear(): void {
    for (const s of this.state) if (s !== undefined) this.release(s);
  }

  #grow(rows: number): void {
    const old = this.capacity;
    this.stop = grown(this.stop, rows);
    this.highWater = grown(this.highWater, rows);
    this.lowWater = grown(this.lowWater, rows);
    this.entryPrice = grown(this.entryPrice, rows);
    this.version = grown(this.version, rows);
    this.long = grown(this.long, rows);
    this.open = grown(this.open, rows);
    this.state.length = rows;
    this.state.fill(undefined, old);
    for (let r = rows - 1; r >= old; r--) this.#free.push(r);
  }
}

/** What a new position's stop starts from. */
export interface StopStateInit {
  readonly symbol: string;
  readonly side: PositionSide;
  readonly quantity: number;
  readonly entryPrice: number;
  readonly openedAt: number;
  readonly stop: number;
  readonly version: number;
  readonly placed: boolean;
  readonly orderId: string;
}

/**
 * One managed position's stop. Its numbers live in its {@link StopColumns} row while it is
 * managed; once released it keeps a detached copy of them.
 */
export class StopState {
  readonly symbol: string;
  readonly side: PositionSide;
  quantity: number;
  readonly openedAt: number;
  placed: boolean;
  /** Client order id of the resting stop (BROKER) or of the close (LOCAL). */
  orderId: string;
  /** The symbol's slot when the caller keys bars by slot, else -1. */
  slot = -1;
  /**
   * CLOSING because the resting stop executed at the broker (BROKER mode with a reconciler):
   * a snapshot that still shows the position re-opens it (the fill may have been old news).
   */
  stopFilled = false;
  /** The row in the columns; -1 once released. */
  row: number;
  #status: 'OPEN' | 'CLOSING' = 'OPEN';
  readonly #cols: StopColumns;
  // The last values, once detached.
  #stop = Number.NaN;
  #highWater = Number.NaN;
  #lowWater = Number.NaN;
  #entryPrice = Number.NaN;
  #version = 0;

  constructor(cols: StopColumns, row: number, init: StopStateInit) {
    this.#cols = cols;
    this.row = row;
    this.symbol = init.symbol;
    this.side = init.side;
    this.quantity = init.quantity;
    this.openedAt = init.openedAt;
    this.placed = init.placed;
    this.orderId = init.orderId;
    cols.stop[row] = init.stop;
    cols.highWater[row] = init.entryPrice;
    cols.lowWater[row] = init.entryPrice;
    cols.entryPrice[row] = init.entryPrice;
    cols.version[row] = init.version;
    cols.long[row] = init.side === 'LONG' ? 1 : 0;
    cols.open[row] = 1;
  }

  get status(): 'OPEN' | 'CLOSING' {
    return this.#status;
  }

  set status(v: 'OPEN' | 'CLOSING') {
    this.#status = v;
    if (this.row >= 0) this.#cols.open[this.row] = v === 'OPEN' ? 1 : 0;
  }

  get stop(): number {
    return this.row >= 0 ? f64At(this.#cols.stop, this.row) : this.#stop;
  }

  set stop(v: number) {
    if (this.row >= 0) this.#cols.stop[this.row] = v;
    else this.#stop = v;
  }

  get version(): number {
    return this.row >= 0 ? f64At(this.#cols.version, this.row) : this.#version;
  }

  set version(v: number) {
    if (this.row >= 0) this.#cols.version[this.row] = v;
    else this.#version = v;
  }

  get highWater(): number {
    return this.row >= 0 ? f64At(this.#cols.highWater, this.row) : this.#highWater;
  }

  get lowWater(): number {
    return this.row >= 0 ? f64At(this.#cols.lowWater, this.row) : this.#lowWater;
  }

  get entryPrice(): number {
    return this.row >= 0 ? f64At(this.#cols.entryPrice, this.row) : this.#entryPrice;
  }

  /** Copies the row's values into this object and leaves the row. */
  detach(): void {
    if (this.row < 0) return;
    this.#stop = this.stop;
    this.#highWater = this.highWater;
    this.#lowWater = this.lowWater;
    this.#entryPrice = this.entryPrice;
    this.#version = this.version;
    this.row = -1;
  }
}
