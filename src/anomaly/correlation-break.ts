import type { CorrelationBank } from '../kernels/correlation.js';
import type { Kernels } from '../kernels/load.js';
import type { AnomalyConfig } from './config.js';
import { anomalyEvent, type AnomalyEvent, type CorrelationBreakEvent } from './events.js';
import type { SymbolRegistry } from '../market/symbol-registry.js';

/**
 * CORRELATION_BREAK detection over a watch-list: the first min(`correlationSymbols`,
 * `maxSymbols`) symbols registered (slots 0..n−1). One correlation bank holds the rolling
 * Pearson r of their log returns over `correlationWindow` bars; each round the mean of the
 * finite pairs is read from its packed upper triangle (never a full matrix, ISSUE-2977).
 *
 * The baseline is an exponential average of past means with span `baselineWindow`
 * (α = 2/(span + 1)), started when the window first fills. Once it has averaged
 * `correlationWindow` means, |mean − baseline| ≥ `breakThreshold` fires one event (a group
 * decorrelating gives a negative `change`; a sell-off where everything moves together a
 * positive one); another can fire only after |mean − baseline| falls below `breakRearm`.
 *
 * Returns are gathered per time slice (one timestamp), however the bars arrive: a whole
 * slice in one batch or one bar per call. A slice is applied to the bank (one O(n²) kernel
 * update) when it is complete — every watched symbol registered so far has reported — or,
 * failing that, when a bar of a later slice arrives (or a symbol reports twice), so a
 * single-bar feed pays for the update once per slice, not once per bar. A symbol with no
 * bar in the slice, or whose bar was quarantined, is a missing observation for the kernel
 * (NaN); a slice in which no watched symbol has a return leaves the bank alone.
 * The mean of few pairs is noisy: with 2 symbols it is one r, whose sampling error over 60
 * bars is about 0.13, so keep the watch-list at 10 or more symbols at the default threshold.
 *
 * @example
 * ```ts
 * watch.observe(slot, logReturn, bar.timestamp, events); // for each bar, batched or not
 * ```
 */
export class CorrelationBreak {
  /** Symbols watched (0 when off). */
  readonly size: number;
  readonly #config: AnomalyConfig;
  readonly #registry: SymbolRegistry;
  readonly #bank: CorrelationBank | undefined;
  readonly #input: Float64Array;
  /** Per watched slot: 1 when it has reported in the current slice. */
  readonly #seen: Uint8Array;
  readonly #alpha: number;
  /** Watched symbols that reported in the current slice, and how many with a valid return. */
  #reported = 0;
  #staged = 0;
  /** The current slice's time (the latest bar time in it); NaN while none is open. */
  #sliceTime = Number.NaN;
  /** Slices applied to the bank (for tests of cost). */
  #updates = 0;
  #baseline = Number.NaN;
  #baselineSamples = 0;
  #armed = true;

  constructor(kernels: Kernels, config: AnomalyConfig, registry: SymbolRegistry) {
    const n = Math.min(config.correlationSymbols, config.maxSymbols);
    this.size = n >= 2 ? n : 0;
    this.#config = config;
    this.#registry = registry;
    this.#alpha = 2 / (config.baselineWindow + 1);
    this.#input = new Float64Array(this.size).fill(Number.NaN);
    this.#seen = new Uint8Array(this.size);
    this.#bank =
      this.size === 0 ? undefined : kernels.correlationBank({ symbols: this.size, window: config.correlationWindow });
  }

  /** The current baseline mean correlation (NaN before the window first fills). */
  get baseline(): number {
    return this.#baseline;
  }

  /** Time slices applied to the correlation bank so far (one O(n²) update each). */
  get updates(): number {
    return this.#updates;
  }

  /**
   * Records that `slot` reported at `timestamp`, with its accepted log return (NaN when it
   * has none: its first bar, or a quarantined one); slots outside the watch-list are
   * ignored. Applies the previous slice first when this bar belongs to a later one (or the
   * slot already reported in it), and this slice when it is now complete; events go to `out`.
   */
  observe(slot: number, logReturn: number, timestamp: number, out: AnomalyEvent[]): void {
    if (slot >= this.size) return;
    if (this.#reported > 0 && (timestamp > this.#sliceTime || this.#seen[slot] === 1)) this.#apply(out);
    if (this.#reported === 0 || timestamp > this.#sliceTime) this.#sliceTime = timestamp;
    this.#seen[slot] = 1;
    this.#reported++;
    if (logReturn === logReturn) {
      this.#input[slot] = logReturn;
      this.#staged++;
    }
    if (this.#reported >= Math.min(this.size, this.#registry.size)) this.#apply(out);
  }

  #apply(out: AnomalyEvent[]): void {
    const timestamp = this.#sliceTime;
    const staged = this.#staged;
    this.#seen.fill(0);
    this.#reported = 0;
    this.#staged = 0;
    const bank = this.#bank;
    if (bank === undefined || staged === 0) {
      this.#input.fill(Number.NaN);
      return;
    }
    bank.update(this.#input);
    this.#updates++;
    this.#input.fill(Number.NaN);
    if (bank.filled < bank.window) return;
    const mean = bank.mean();
    const pairs = bank.meanPairs;
    if (pairs === 0) return;
    if (this.#baselineSamples === 0) this.#baseline = mean;
    const change = mean - this.#baseline;
    const cfg = this.#config;
    if (this.#baselineSamples >= cfg.correlationWindow) {
      if (this.#armed && Math.abs(change) >= cfg.breakThreshold) {
        this.#armed = false;
        out.push(this.#event(timestamp, mean, change, pairs));
      } else if (!this.#armed && Math.abs(change) < cfg.breakRearm) {
        this.#armed = true;
      }
    }
    this.#baseline += this.#alpha * (mean - this.#baseline);
    this.#baselineSamples++;
  }

  #event(timestamp: number, mean: number, change: number, pairs: number): CorrelationBreakEvent {
    const cfg = this.#config;
    const watched = Math.min(this.size, this.#registry.size);
    const symbols: string[] = [];
    for (let i = 0; i < watched; i++) symbols.push(this.#registry.symbolAt(i));
    return anomalyEvent<CorrelationBreakEvent>({
      type: 'CORRELATION_BREAK',
      severity: 'WARNING',
      symbols,
      timestamp,
      inputs: {
        meanCorrelation: mean,
        baseline: this.#baseline,
        change,
        threshold: cfg.breakThreshold,
        pairs,
        window: cfg.correlationWindow,
      },
      actions: cfg.actions.CORRELATION_BREAK,
    });
  }

  /** Returns the bank's memory to the kernel module. */
  dispose(): void {
    this.#bank?.dispose();
  }

  /** The typed arrays this object owns (for memory accounting; the correlations are in WASM). */
  buffers(): readonly ArrayBufferView[] {
    return [this.#input, this.#seen];
  }
}
