import { BulwarkError } from '../errors.js';
import { KernelBank, checkInput, copyInput, type NumericInput } from './bank.js';
import { checkBytes, checkInteger, type KernelLimits } from './limits.js';
import type { WasmRuntime } from './runtime.js';
import type { Scratch } from './scratch.js';
import { atrBankBytes } from './sizes.js';

/** Options of {@link AtrBank}. */
export interface AtrBankOptions {
  /** Number of symbols, each a column in every `update`. */
  readonly symbols: number;
  /** Wilder period, ≥ 1. */
  readonly period: number;
}

/**
 * Streaming Wilder ATR for many symbols at once; one `update` call per bar for all of them.
 *
 * Convention (that of trading-signals' `ATR`): TR₀ = high₀ − low₀ and
 * TRₜ = max(highₜ, closeₜ₋₁) − min(lowₜ, closeₜ₋₁); the first ATR, at the `period`-th bar, is
 * the mean of the first `period` TRs; after that ATRₜ = (ATRₜ₋₁·(period−1) + TRₜ)/period.
 *
 * A bar is valid when 0 < low ≤ close ≤ high ≤ `maxValue`: a bar with NaN, ±Infinity,
 * high < low, a close outside the range or a non-positive price leaves that symbol's state
 * unchanged and adds one to {@link KernelBank.rejected}; the other symbols update normally.
 * State is 8 doubles per symbol, fixed at construction, however long the bank runs.
 *
 * Three ways in: `update(high, low, close)` copies the caller's columns in; a caller that
 * writes straight into {@link AtrBank.input} (views into WASM memory) skips that copy with
 * {@link AtrBank.updateInput}; and {@link AtrBank.updateSlots} updates only the symbols listed
 * in `input().slots`, at a cost that does not depend on the bank's width (a live feed with
 * one symbol's bar at a time).
 *
 * @example
 * ```ts
 * const bank = k.atrBank({ symbols: 3, period: 14 });
 * bank.update(highs, lows, closes); // Float64Array(3) each
 * const atr = bank.values();        // NaN until 14 valid bars
 *
 * const { high, low, close, slots } = bank.input(); // zero-copy: one symbol's bar
 * high[2] = 101.5; low[2] = 99.8; close[2] = 100.9; slots[0] = 2;
 * bank.updateSlots(1);
 * ```
 */
export class AtrBank extends KernelBank {
  /** Number of symbols. */
  readonly symbols: number;
  /** Wilder period. */
  readonly period: number;
  #high!: Float64Array;
  #low!: Float64Array;
  #close!: Float64Array;
  #values!: Float64Array;
  #slots!: Int32Array;
  #input!: AtrBankInput;

  /** @internal Use `Kernels.atrBank`. */
  constructor(runtime: WasmRuntime, limits: KernelLimits, options: AtrBankOptions) {
    const symbols = checkInteger('INVALID_SIZE', 'symbols', options.symbols, 1, limits.maxSymbols);
    const period = checkInteger('INVALID_PERIOD', 'period', options.period, 1, limits.maxPeriod);
    super(runtime, checkBytes(atrBankBytes(symbols), limits));
    this.symbols = symbols;
    this.period = period;
    runtime.exports.atrBankInit(this.state, symbols, period, limits.maxValue);
  }

  /** Applies one bar: `high`, `low` and `close` each hold one value per symbol. */
  update(high: NumericInput, low: NumericInput, close: NumericInput): void {
    this.ready();
    checkInput('high', high, this.symbols);
    checkInput('low', low, this.symbols);
    checkInput('close', close, this.symbols);
    copyInput(this.#high, high);
    copyInput(this.#low, low);
    copyInput(this.#close, close);
    this.addRejected(this.runtime.exports.atrBankUpdate(this.state));
  }

  /**
   * The input columns, one value per symbol, and the slot list {@link AtrBank.updateSlots}
   * reads: views into WASM memory, valid until memory grows (take them again before each
   * bar; taking them is cheap and allocates nothing).
   */
  input(): AtrBankInput {
    this.ready();
    return this.#input;
  }

  /**
   * Applies one bar to every symbol from {@link AtrBank.input} as the caller wrote it (no
   * copy). A symbol whose input is NaN (no bar this time) is left as it is (and counted
   * in `rejected`, as with `update`).
   */
  updateInput(): void {
    this.ready();
    this.addRejected(this.runtime.exports.atrBankUpdate(this.state));
  }

  /**
   * Applies one bar to the `count` symbols listed in `input().slots[0, count)` (each at most
   * once: a repeated slot takes the same bar twice), reading their `high`, `low` and `close`
   * from {@link AtrBank.input}; no other symbol is touched. O(count), whatever `symbols` is.
   * A listed slot out of range is `INDEX_OUT_OF_RANGE` (nothing applied).
   */
  updateSlots(count: number): void {
    this.ready();
    checkInteger('INVALID_SIZE', 'count', count, 0, this.symbols);
    const slots = this.#slots;
    const n = this.symbols;
    for (let r = 0; r < count; r++) {
      const slot = slots[r] as number;
      if (slot >>> 0 >= n)
        throw new BulwarkError('INDEX_OUT_OF_RANGE', `slot ${slot} is outside [0, ${n})`, { slot, symbols: n });
    }
    this.addRejected(this.runtime.exports.atrBankUpdateSlots(this.state, count));
  }

  /** Symbol-updates performed so far: `symbols` per whole-width update, `count` per `updateSlots`. For tests of cost. */
  get work(): number {
    this.ready();
    return this.runtime.exports.atrBankWork(this.state);
  }

  /**
   * Current ATR per symbol as a view into WASM memory (no copy): the next update changes it,
   * and it is valid until memory grows (take it again after any bank is created).
   */
  valuesView(): Float64Array {
    this.ready();
    return this.#values;
  }

  /** Current ATR per symbol (a copy); NaN for a symbol with fewer than `period` valid bars. */
  values(): Float64Array {
    this.ready();
    return this.#values.slice();
  }

  /**
   * Copies the current ATR per symbol into `target` (length `symbols`) without allocating:
   * for callers that read every symbol on every bar.
   *
   * @example
   * ```ts
   * const atr = new Float64Array(bank.symbols);
   * bank.update(h, l, c);
   * bank.valuesInto(atr);
   * ```
   */
  valuesInto(target: Float64Array): Float64Array {
    this.ready();
    checkInput('target', target, this.symbols);
    target.set(this.#values);
    return target;
  }

  /** @internal (Re)creates the typed-array views of the state block, after WASM memory grew. */
  protected bindViews(): void {
    const x = this.runtime.exports;
    const n = this.symbols;
    this.#high = this.runtime.f64(x.atrBankInput(this.state, 0), n);
    this.#low = this.runtime.f64(x.atrBankInput(this.state, 1), n);
    this.#close = this.runtime.f64(x.atrBankInput(this.state, 2), n);
    this.#values = this.runtime.f64(x.atrBankValues(this.state), n);
    this.#slots = this.runtime.i32(x.atrBankSlots(this.state), n);
    this.#input = Object.freeze({ high: this.#high, low: this.#low, close: this.#close, slots: this.#slots });
  }
}

/** {@link AtrBank.input}: the bank's input columns and slot list, views into WASM memory. */
export interface AtrBankInput {
  /** The bar's high, one per symbol (indexed by slot). */
  readonly high: Float64Array;
  /** The bar's low, one per symbol. */
  readonly low: Float64Array;
  /** The bar's close, one per symbol. */
  readonly close: Float64Array;
  /** Symbols {@link AtrBank.updateSlots} applies, in its first `count` entries. */
  readonly slots: Int32Array;
}

/**
 * Batch Wilder ATR of one series (same convention as {@link AtrBank}). Returns one value per
 * bar: NaN before the `period`-th valid bar, and NaN at an invalid bar, which leaves the
 * running state unchanged. Empty input gives an empty array. Runs in fixed-size chunks, so
 * WASM memory does not grow with the input.
 * @internal Use `Kernels.atr`.
 */
export function atrBatch(
  scratch: Scratch,
  limits: KernelLimits,
  high: NumericInput,
  low: NumericInput,
  close: NumericInput,
  period: number,
): Float64Array {
  checkInput('high', high);
  checkInput('low', low, high.length);
  checkInput('close', close, high.length);
  checkInteger('INVALID_PERIOD', 'period', period, 1, limits.maxPeriod);
  const len = high.length;
  const out = new Float64Array(len);
  if (len === 0) return out;
  const x = scratch.runtime.exports;
  const state = scratch.state();
  x.atrSeriesInit(state);
  for (let from = 0; from < len; from += scratch.chunk) {
    const count = Math.min(scratch.chunk, len - from);
    const h = scratch.column(count, 0);
    const l = scratch.column(count, 1);
    const c = scratch.column(count, 2);
    const o = scratch.column(count, 3);
    copyInput(h, high, from, count);
    copyInput(l, low, from, count);
    copyInput(c, close, from, count);
    x.atrSeries(state, h.byteOffset, o.byteOffset, count, period, limits.maxValue);
    out.set(o, from);
  }
  return out;
}
