import { BulwarkError } from '../errors.js';
import { KernelBank } from './bank.js';
import { checkBytes, checkInteger, type KernelLimits } from './limits.js';
import type { WasmRuntime } from './runtime.js';
import { windowBankBytes } from './sizes.js';
import { f64At, i32At } from '../util/indexed.js';

/** Options of {@link WindowBank}. */
export interface WindowBankOptions {
  /** Number of series (slots). */
  readonly symbols: number;
  /** Values kept per series, ≥ 1. */
  readonly window: number;
}

/** Column numbers of the kernel's state block (see assembly/windows.ts). */
const enum Column {
  Ring = 0,
  Sorted = 1,
  Value = 3,
  Slot = 4,
  Count = 6,
  Flag = 8,
}

export { windowBankBytes } from './sizes.js';

/**
 * The last `window` values of each of `symbols` series, kept both in arrival order (a ring,
 * to know which value leaves) and sorted, in WASM linear memory (structure of arrays). The
 * median is O(1), the MAD a selection in O(log window), and a lower bound on the MAD O(1)
 * amortised, so a robust z-score can rule out almost every value without the exact MAD.
 *
 * A push finds the leaving and the arriving value's ranks by two branch-free binary searches
 * run side by side, then moves the values between the two ranks by one place. The hot path
 * is {@link WindowBank.checkPush}: one call scores and pushes a whole batch of rows. Values
 * must not be NaN (the caller validates them: one NaN would break the sorted order for good).
 *
 * @example
 * ```ts
 * const w = k.windowBank({ symbols: 1_000, window: 60 });
 * w.push(3, 0.0012);
 * const m = w.median(3);
 * const mad = w.mad(3, m);
 * ```
 */
export class WindowBank extends KernelBank {
  /** Number of series. */
  readonly symbols: number;
  /** Values kept per series. */
  readonly window: number;
  #sorted!: Float64Array;
  #count!: Int32Array;
  #values!: Float64Array;
  #slots!: Int32Array;
  #flags!: Int32Array;
  #flagged = 0;

  /** @internal Use `Kernels.windowBank`. */
  constructor(runtime: WasmRuntime, limits: KernelLimits, options: WindowBankOptions) {
    const symbols = checkInteger('INVALID_SIZE', 'symbols', options.symbols, 1, limits.maxSymbols);
    const window = checkInteger('INVALID_WINDOW', 'window', options.window, 1, limits.maxWindow);
    super(runtime, checkBytes(windowBankBytes(symbols, window), limits));
    this.symbols = symbols;
    this.window = window;
    runtime.exports.winBankInit(this.state, symbols, window);
  }

  /** Values in `slot`'s window (at most `window`). */
  count(slot: number): number {
    this.ready();
    return i32At(this.#count, slot);
  }

  /** Appends `value` (not NaN) to `slot`'s window, dropping the oldest when full. */
  push(slot: number, value: number): void {
    this.ready();
    this.#slot(slot);
    if (value !== value) throw new BulwarkError('NAN_VALUE', 'a window value must not be NaN', { slot });
    this.runtime.exports.winPush(this.state, slot, value);
  }

  /** Median of `slot`'s window (mean of the middle two when even); NaN when empty. */
  median(slot: number): number {
    this.ready();
    const n = i32At(this.#count, slot);
    if (n === 0) return Number.NaN;
    const mid = slot * this.window + (n >>> 1);
    const s = this.#sorted;
    return (n & 1) === 1 ? f64At(s, mid) : (f64At(s, mid - 1) + f64At(s, mid)) / 2;
  }

  /**
   * Median of |x − `center`| over `slot`'s window, where `center` is its median. The
   * deviations below the middle (read leftwards) and above it (read rightwards) are two
   * sorted sequences, so the middle rank of their union is found by the classic two-array
   * selection in O(log window) steps. NaN when empty.
   */
  mad(slot: number, center: number): number {
    this.ready();
    const n = i32At(this.#count, slot);
    if (n === 0) return Number.NaN;
    const s = this.#sorted;
    const mid = slot * this.window + (n >>> 1);
    const lenL = n >>> 1; // L[i] = center − s[mid − 1 − i], ascending in i
    const lenR = n - lenL; // R[j] = s[mid + j] − center, ascending in j
    const k = lenL + 1; // the (half+1)-th smallest deviation; for even n also the half-th
    let lo = Math.max(0, k - lenR);
    let hi = Math.min(k, lenL);
    let i = lo;
    while (lo <= hi) {
      i = (lo + hi) >>> 1;
      const j = k - i;
      if (i < lenL && j > 0 && f64At(s, mid + j - 1) - center > center - f64At(s, mid - 1 - i)) lo = i + 1;
      else if (i > 0 && j < lenR && center - f64At(s, mid - i) > f64At(s, mid + j) - center) hi = i - 1;
      else break;
    }
    const j = k - i;
    const lastL = i > 0 ? center - f64At(s, mid - i) : Number.NEGATIVE_INFINITY;
    const lastR = j > 0 ? f64At(s, mid + j - 1) - center : Number.NEGATIVE_INFINITY;
    const kth = Math.max(lastL, lastR);
    if ((n & 1) === 1) return kth;
    // Even n: average with the next smaller of the k taken.
    const prevL = i > 1 ? center - f64At(s, mid - i + 1) : Number.NEGATIVE_INFINITY;
    const prevR = j > 1 ? f64At(s, mid + j - 2) - center : Number.NEGATIVE_INFINITY;
    const below = lastL >= lastR ? Math.max(prevL, lastR) : Math.max(lastL, prevR);
    return (below + kth) / 2;
  }

  /** Mean of |x − `center`| over `slot`'s window; NaN when empty. */
  meanAbsDev(slot: number, center: number): number {
    this.ready();
    const n = i32At(this.#count, slot);
    const base = slot * this.window;
    const s = this.#sorted;
    let sum = 0;
    for (let i = base; i < base + n; i++) sum += Math.abs(f64At(s, i) - center);
    return sum / n;
  }

  /**
   * A lower bound on `slot`'s MAD, valid whatever the centre, recomputed every 8 pushes in
   * O(window) and O(1) otherwise. Why it holds: at least r = ⌈n/2⌉ values lie within MAD of
   * the median (for even n, within the smaller of the two middle deviations, which is ≤ MAD),
   * and they are consecutive in sorted order, so 2·MAD ≥ the shortest span of r consecutive
   * values. After k more pushes, any r consecutive values include at least r − k of the
   * values seen when the bound was computed, whose span is at least the shortest span of
   * r − k consecutive values then. So half the shortest span of ⌈n/2⌉ − 8 consecutive values
   * bounds the MAD until the next recompute.
   */
  madLowerBound(slot: number): number {
    this.ready();
    this.#slot(slot);
    return this.runtime.exports.winLowerBound(this.state, slot);
  }

  /**
   * The batch input: row i scores and pushes `values[i]` into series `slots[i]` (at most one
   * row per series). Views into WASM memory, valid until memory grows: take them again
   * before each batch.
   */
  input(): { readonly values: Float64Array; readonly slots: Int32Array } {
    this.ready();
    return { values: this.#values, slots: this.#slots };
  }

  /**
   * Scores and pushes rows [0, `rows`) of {@link WindowBank.input}. A row whose series holds
   * at least `minSamples` values, and whose deviation from the median (x − median when
   * `upOnly`, else |x − median|) reaches z·max(`floorScale`, 1.4826·{@link WindowBank.madLowerBound}),
   * may be an outlier: it is flagged and not pushed, so the caller can score it exactly
   * against the window as it is and push it after ({@link WindowBank.push}). Every other row
   * is pushed. Returns the flags (a view: 1 = flagged); {@link WindowBank.flagged} counts them.
   *
   * @example
   * ```ts
   * const { values, slots } = bank.input();
   * values[0] = x; slots[0] = slot;
   * const flags = bank.checkPush(1, 30, 8, 1e-4, false);
   * if (flags[0] === 1) exactCheck(slot, x);
   * ```
   */
  checkPush(rows: number, minSamples: number, z: number, floorScale: number, upOnly: boolean): Int32Array {
    this.ready();
    checkInteger('INVALID_SIZE', 'rows', rows, 0, this.symbols);
    // A slot out of range would make the kernel write outside this bank: checked for every row.
    const slots = this.#slots;
    const n = this.symbols;
    for (let i = 0; i < rows; i++) if (i32At(slots, i) >>> 0 >= n) this.#slot(i32At(slots, i));
    this.#flagged = this.runtime.exports.winCheckPush(this.state, rows, minSamples, z, floorScale, upOnly ? 1 : 0);
    return this.#flags;
  }

  /** Rows flagged by the last {@link WindowBank.checkPush}. */
  get flagged(): number {
    return this.#flagged;
  }

  /** @internal (Re)creates the typed-array views of the state block, after WASM memory grew. */
  protected bindViews(): void {
    const x = this.runtime.exports;
    const r = this.runtime;
    const n = this.symbols;
    this.#sorted = r.f64(x.winBankColumn(this.state, Column.Sorted), n * this.window);
    this.#count = r.i32(x.winBankColumn(this.state, Column.Count), n);
    this.#values = r.f64(x.winBankColumn(this.state, Column.Value), n);
    this.#slots = r.i32(x.winBankColumn(this.state, Column.Slot), n);
    this.#flags = r.i32(x.winBankColumn(this.state, Column.Flag), n);
  }

  #slot(slot: number): void {
    if (!(slot >= 0 && slot < this.symbols && Number.isInteger(slot))) {
      throw new BulwarkError('INDEX_OUT_OF_RANGE', `slot ${slot} is outside [0, ${this.symbols})`, {
        slot,
        symbols: this.symbols,
      });
    }
  }
}
