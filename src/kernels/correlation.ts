import { BulwarkError } from '../errors.js';
import { KernelBank, checkInput, copyInput, type NumericInput } from './bank.js';
import { checkBytes, checkInteger, type KernelLimits } from './limits.js';
import type { WasmRuntime } from './runtime.js';
import { correlationBankBytes, pairCount } from './sizes.js';
import { f64At } from '../util/indexed.js';

/** Options of {@link CorrelationBank}. */
export interface CorrelationBankOptions {
  /** Number of symbols, n ≥ 1. */
  readonly symbols: number;
  /** Rolling window in bars, ≥ 2. */
  readonly window: number;
  /**
   * Bars over which every rolling sum is rebuilt from the window once, which bounds
   * floating-point drift: each update rebuilds its share (⌈pairs/recomputeEvery⌉ pairs and
   * ⌈symbols/recomputeEvery⌉ symbols, O(window) each), so no single update pays for the
   * whole O(n²·window) rebuild. Default max(16·window, 4096).
   */
  readonly recomputeEvery?: number;
}

/**
 * Index of pair (i, j), i < j, in the packed upper triangle of an n-symbol matrix:
 * i·(2n − i − 1)/2 + (j − i − 1).
 *
 * @example
 * ```ts
 * const r = corr.packed()[packedIndex(corr.symbols, 2, 5)]; // same as corr.get(2, 5); users call corr.pairIndex(2, 5)
 * ```
 */
export function packedIndex(n: number, i: number, j: number): number {
  return (i * (2 * n - i - 1)) / 2 + (j - i - 1);
}

/**
 * Rolling Pearson correlation of returns for every pair of symbols, one `update` per bar.
 *
 * Only the n(n−1)/2 pairs i < j are stored, as a packed row-major upper triangle (see
 * {@link packedIndex}); `full()` rebuilds the n×n matrix on demand (ISSUE-2977). Each update
 * is O(n²) on rolling sums, independent of history, plus a 1/`recomputeEvery` share of a
 * rolling rebuild of every sum from the window, so results match a fresh computation to 1e-9
 * after any number of updates and no update stalls for a full rebuild.
 *
 * A return is valid when it is finite and |r| ≤ `maxAbsReturn`. An invalid one adds one to
 * {@link KernelBank.rejected} and is recorded as a missing observation for that bar: it
 * enters no sum, the other symbols update normally, and a pair with a missing observation in
 * its window is computed exactly over the bars where both returns are valid. A pair with
 * fewer than two joint observations or zero variance is NaN, never ±Infinity.
 *
 * @example
 * ```ts
 * const corr = k.correlationBank({ symbols: 3, window: 64 });
 * corr.update(returnsOfThisBar); // Float64Array(3)
 * corr.get(0, 2);                // Pearson r of symbols 0 and 2 over the last 64 bars
 * ```
 */
export class CorrelationBank extends KernelBank {
  /** Number of symbols. */
  readonly symbols: number;
  /** Rolling window in bars. */
  readonly window: number;
  /** Bars over which every sum is rebuilt from the window once (a share at each update). */
  readonly recomputeEvery: number;
  #input!: Float64Array;
  #out!: Float64Array;

  /** @internal Use `Kernels.correlationBank`. */
  constructor(runtime: WasmRuntime, limits: KernelLimits, options: CorrelationBankOptions) {
    const symbols = checkInteger('INVALID_SIZE', 'symbols', options.symbols, 1, limits.maxCorrelationSymbols);
    const window = checkInteger('INVALID_WINDOW', 'window', options.window, 2, limits.maxWindow);
    const every = checkInteger(
      'INVALID_OPTION',
      'recomputeEvery',
      options.recomputeEvery ?? Math.max(16 * window, 4096),
      1,
      2 ** 31 - 1,
    );
    super(runtime, checkBytes(correlationBankBytes(symbols, window), limits));
    this.symbols = symbols;
    this.window = window;
    this.recomputeEvery = every;
    runtime.exports.corrBankInit(this.state, symbols, window, every, limits.maxAbsReturn);
  }

  /** Number of pairs, n(n−1)/2. */
  get pairs(): number {
    return pairCount(this.symbols);
  }

  /** Bars currently in the window (at most `window`). */
  get filled(): number {
    this.ready();
    return this.runtime.exports.corrBankFilled(this.state);
  }

  /** Applies one bar: one return per symbol. */
  update(returns: NumericInput): void {
    this.ready();
    checkInput('returns', returns, this.symbols);
    copyInput(this.#input, returns);
    this.addRejected(this.runtime.exports.corrBankUpdate(this.state));
  }

  /** All pairs i < j, row-major upper triangle (a copy), n(n−1)/2 values. */
  packed(): Float64Array {
    this.ready();
    this.runtime.exports.corrBankPacked(this.state);
    return this.#out.slice();
  }

  /**
   * The mean correlation over every pair whose r is finite (as {@link CorrelationBank.packed}
   * holds them), computed in the kernel without forming the pairs: O(n·window) from the
   * standardised window (plus O(n·window) per symbol with a missing observation, whose pairs
   * are computed exactly), so a wide bank's mean costs far less than its update. Nothing is
   * copied out. NaN when no pair is finite;
   * {@link CorrelationBank.meanPairs} then tells how many pairs it averaged.
   */
  mean(): number {
    this.ready();
    return this.runtime.exports.corrBankMean(this.state);
  }

  /** Pairs averaged by the last {@link CorrelationBank.mean}. */
  get meanPairs(): number {
    this.ready();
    return this.runtime.exports.corrBankMeanPairs(this.state);
  }

  /** Correlation of symbols i and j; symmetric, and 1 on the diagonal. */
  get(i: number, j: number): number {
    this.ready();
    this.#checkIndex('i', i);
    this.#checkIndex('j', j);
    if (i === j) return 1;
    return this.runtime.exports.corrBankGet(this.state, i, j);
  }

  /**
   * Where pair (i, j), i ≠ j, sits in {@link CorrelationBank.packed}: the packed upper triangle
   * is row-major over i < j, so (i, j) and (j, i) share one index, i·(2n − i − 1)/2 + (j − i − 1)
   * with i < j.
   *
   * @example
   * ```ts
   * const r = corr.packed()[corr.pairIndex(2, 5)]; // same as corr.get(2, 5)
   * ```
   */
  pairIndex(i: number, j: number): number {
    this.#checkIndex('i', i);
    this.#checkIndex('j', j);
    if (i === j) {
      throw new BulwarkError('INDEX_OUT_OF_RANGE', `a pair needs two different symbols, got (${i}, ${j})`, { i, j });
    }
    return i < j ? packedIndex(this.symbols, i, j) : packedIndex(this.symbols, j, i);
  }

  /**
   * The n×n matrix, row-major, rebuilt from the packed triangle on demand (8·n² bytes of JS
   * memory: `OUT_OF_MEMORY` when that cannot be had).
   */
  full(): Float64Array {
    const n = this.symbols;
    const packed = this.packed();
    const m = matrix(n);
    let p = 0;
    for (let i = 0; i < n; i++) {
      m[i * n + i] = 1;
      for (let j = i + 1; j < n; j++, p++) {
        const r = f64At(packed, p);
        m[i * n + j] = r;
        m[j * n + i] = r;
      }
    }
    return m;
  }

  /**
   * Rebuilds every rolling sum from the window now, all at once (O(n²·window)), and
   * re-centres the sums on the window's means. The rolling rebuild at each update does not
   * need it; it is for a caller that wants the sums re-centred at a moment of its choosing.
   */
  recompute(): void {
    this.ready();
    this.runtime.exports.corrBankRecompute(this.state);
  }

  #checkIndex(name: string, v: number): void {
    if (!Number.isInteger(v) || v < 0 || v >= this.symbols) {
      throw new BulwarkError('INDEX_OUT_OF_RANGE', `${name} must be an integer in [0, ${this.symbols}), got ${v}`, {
        [name]: v,
        symbols: this.symbols,
      });
    }
  }

  /** @internal (Re)creates the typed-array views of the state block, after WASM memory grew. */
  protected bindViews(): void {
    const x = this.runtime.exports;
    this.#input = this.runtime.f64(x.corrBankInput(this.state), this.symbols);
    this.#out = this.runtime.f64(x.corrBankOut(this.state), this.pairs);
  }
}

/** A zeroed n×n Float64Array, or `OUT_OF_MEMORY` (not a RangeError) when it cannot be allocated. */
function matrix(n: number): Float64Array {
  try {
    return new Float64Array(n * n);
  } catch (cause) {
    throw new BulwarkError('OUT_OF_MEMORY', `could not allocate a ${n}×${n} matrix (${8 * n * n} bytes)`, {
      symbols: n,
      bytes: 8 * n * n,
      cause: String(cause),
    });
  }
}
