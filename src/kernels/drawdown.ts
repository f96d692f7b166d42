import { KernelBank, checkInput, copyInput, type NumericInput } from './bank.js';
import { checkBytes, checkInteger, type KernelLimits } from './limits.js';
import type { WasmRuntime } from './runtime.js';
import type { Scratch } from './scratch.js';
import { drawdownBankBytes } from './sizes.js';

/** Options of {@link DrawdownBank}. */
export interface DrawdownBankOptions {
  /** Number of series (e.g. accounts, strategies, symbols). */
  readonly series: number;
  /** Rolling window in points for {@link DrawdownBank.current}; 0 = peak since inception. */
  readonly window: number;
}

/**
 * Streaming drawdown for many series, one `update` per point for all of them.
 *
 * `current()` is (peak − v)/peak with the peak taken over the series' last `window` valid
 * points (or since inception for window 0); `max()` is the worst drawdown from the running
 * peak since inception. The rolling peak comes from a monotonic deque in a ring of `window`
 * slots, so an update costs amortised O(1) however long the history: the review's O(n²)
 * recomputation (ISSUE-2969) cannot happen. Memory is fixed at construction.
 *
 * A value is valid when 0 < v ≤ `maxValue`; an invalid value (NaN, ±Infinity, ≤ 0) leaves
 * that series unchanged and adds one to {@link KernelBank.rejected}.
 *
 * @example
 * ```ts
 * const dd = k.drawdownBank({ series: 2, window: 0 });
 * dd.update([100, 50]); dd.update([90, 55]);
 * dd.current(); // Float64Array [0.1, 0]
 * ```
 */
export class DrawdownBank extends KernelBank {
  /** Number of series. */
  readonly series: number;
  /** Rolling window in points; 0 = since inception. */
  readonly window: number;
  #input!: Float64Array;
  #current!: Float64Array;
  #max!: Float64Array;

  /** @internal Use `Kernels.drawdownBank`. */
  constructor(runtime: WasmRuntime, limits: KernelLimits, options: DrawdownBankOptions) {
    const series = checkInteger('INVALID_SIZE', 'series', options.series, 1, limits.maxSymbols);
    const window = checkInteger('INVALID_WINDOW', 'window', options.window, 0, limits.maxWindow);
    super(runtime, checkBytes(drawdownBankBytes(series, window), limits));
    this.series = series;
    this.window = window;
    runtime.exports.ddBankInit(this.state, series, window, limits.maxValue);
  }

  /** Applies one new value per series. */
  update(values: NumericInput): void {
    this.ready();
    checkInput('values', values, this.series);
    copyInput(this.#input, values);
    this.addRejected(this.runtime.exports.ddBankUpdate(this.state));
  }

  /** Drawdown from the (rolling) peak per series, in [0, 1]; NaN before a series' first value. */
  current(): Float64Array {
    this.ready();
    return this.#current.slice();
  }

  /** Worst drawdown since inception per series, in [0, 1]; NaN before a series' first value. */
  max(): Float64Array {
    this.ready();
    return this.#max.slice();
  }

  /**
   * Deque pops performed so far, over all series. Each update pushes once and each value is
   * popped at most once, so this never exceeds the number of valid updates: the proof that
   * the cost per update does not grow with history.
   */
  get work(): number {
    this.ready();
    return this.runtime.exports.ddBankWork(this.state);
  }

  /** @internal (Re)creates the typed-array views of the state block, after WASM memory grew. */
  protected bindViews(): void {
    const x = this.runtime.exports;
    this.#input = this.runtime.f64(x.ddBankColumn(this.state, 0), this.series);
    this.#current = this.runtime.f64(x.ddBankColumn(this.state, 2), this.series);
    this.#max = this.runtime.f64(x.ddBankColumn(this.state, 3), this.series);
  }
}

/**
 * Worst peak-to-trough fraction of one series, in [0, 1]. Invalid values (NaN, ±Infinity,
 * ≤ 0, > maxValue) are skipped; NaN when there is no valid value.
 * @internal Use `Kernels.maxDrawdown`.
 */
export function maxDrawdownBatch(scratch: Scratch, limits: KernelLimits, values: NumericInput): number {
  checkInput('values', values);
  const x = scratch.runtime.exports;
  const state = scratch.state();
  x.ddSeriesInit(state);
  for (let from = 0; from < values.length; from += scratch.chunk) {
    const count = Math.min(scratch.chunk, values.length - from);
    const v = scratch.column(count, 0);
    copyInput(v, values, from, count);
    x.ddSeries(state, v.byteOffset, count, limits.maxValue);
  }
  return scratch.runtime.f64(state + 8, 1)[0] ?? Number.NaN;
}
