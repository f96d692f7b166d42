import type { AtrBank } from '../kernels/atr.js';
import type { Kernels } from '../kernels/load.js';
import type { Bar } from '../vocabulary/market.js';
import type { AnomalyConfig } from './config.js';
import { anomalyEvent, type AnomalyEvent, type VolatilityRegimeEvent } from './events.js';
import type { SymbolRegistry } from '../market/symbol-registry.js';
import { f64At, i32At } from '../util/indexed.js';

/**
 * VOLATILITY_REGIME detection: two streaming ATR banks (`atrShortPeriod`, `atrLongPeriod`)
 * over every slot; ratio = ATR(short)/ATR(long). A slot fires once when its ratio reaches
 * `regimeRatio`, then stays quiet until the ratio falls below `regimeRearmRatio` (hysteresis,
 * so a ratio hovering at the threshold does not flap).
 *
 * Bars are staged per round (one per slot) and applied with one kernel call per bank in
 * `flush`; a slot with no bar this round gets NaN, which the kernel leaves unchanged. A
 * confirmed quarantined bar is staged with `stageCatchUp` and applied in an extra call before
 * the round's bars, so each symbol's bars reach the kernels in time order.
 *
 * @example
 * ```ts
 * regime.stage(slot, bar);   // for each bar of the round
 * regime.flush(events);      // one update per bank, then the crossings
 * ```
 */
export class VolatilityRegime {
  readonly #config: AnomalyConfig;
  readonly #registry: SymbolRegistry;
  readonly #short: AtrBank;
  readonly #long: AtrBank;
  readonly #high: Float64Array;
  readonly #low: Float64Array;
  readonly #close: Float64Array;
  readonly #timestamp: Float64Array;
  readonly #touched: Int32Array;
  /** The banks' current ATRs, copied in each round (no allocation per round). */
  readonly #shortNow: Float64Array;
  readonly #longNow: Float64Array;
  #touchedCount = 0;
  readonly #cuHigh: Float64Array;
  readonly #cuLow: Float64Array;
  readonly #cuClose: Float64Array;
  readonly #cuTouched: Int32Array;
  #cuCount = 0;
  readonly #elevated: Uint8Array;

  constructor(kernels: Kernels, config: AnomalyConfig, registry: SymbolRegistry) {
    const n = config.maxSymbols;
    this.#config = config;
    this.#registry = registry;
    this.#short = kernels.atrBank({ symbols: n, period: config.atrShortPeriod });
    try {
      this.#long = kernels.atrBank({ symbols: n, period: config.atrLongPeriod });
    } catch (e) {
      this.#short.dispose();
      throw e;
    }
    this.#high = new Float64Array(n).fill(Number.NaN);
    this.#low = new Float64Array(n).fill(Number.NaN);
    this.#close = new Float64Array(n).fill(Number.NaN);
    this.#timestamp = new Float64Array(n);
    this.#touched = new Int32Array(n);
    this.#cuHigh = new Float64Array(n).fill(Number.NaN);
    this.#cuLow = new Float64Array(n).fill(Number.NaN);
    this.#cuClose = new Float64Array(n).fill(Number.NaN);
    this.#cuTouched = new Int32Array(n);
    this.#elevated = new Uint8Array(n);
    this.#shortNow = new Float64Array(n).fill(Number.NaN);
    this.#longNow = new Float64Array(n).fill(Number.NaN);
  }

  /**
   * ATR(atrShortPeriod) of every slot after the last round (NaN until seeded): a view the
   * next round overwrites. Bad ticks never enter it; a confirmed spike enters before the bar
   * that confirmed it.
   */
  get shortAtr(): Float64Array {
    return this.#shortNow;
  }

  /** Stages `slot`'s bar for this round (at most one per slot per round). */
  stage(slot: number, bar: Bar): void {
    this.#high[slot] = bar.high;
    this.#low[slot] = bar.low;
    this.#close[slot] = bar.close;
    this.#timestamp[slot] = bar.timestamp;
    this.#touched[this.#touchedCount++] = slot;
  }

  /** Stages a confirmed held bar of `slot`, applied before this round's bars. */
  stageCatchUp(slot: number, high: number, low: number, close: number): void {
    this.#cuHigh[slot] = high;
    this.#cuLow[slot] = low;
    this.#cuClose[slot] = close;
    this.#cuTouched[this.#cuCount++] = slot;
  }

  /** Applies the staged bars and appends the round's crossings to `out`. */
  flush(out: AnomalyEvent[]): void {
    if (this.#cuCount > 0) {
      this.#short.update(this.#cuHigh, this.#cuLow, this.#cuClose);
      this.#long.update(this.#cuHigh, this.#cuLow, this.#cuClose);
      for (let i = 0; i < this.#cuCount; i++) {
        const s = i32At(this.#cuTouched, i);
        this.#cuHigh[s] = this.#cuLow[s] = this.#cuClose[s] = Number.NaN;
      }
      this.#cuCount = 0;
    }
    if (this.#touchedCount === 0) return;
    this.#short.update(this.#high, this.#low, this.#close);
    this.#long.update(this.#high, this.#low, this.#close);
    const short = this.#short.valuesInto(this.#shortNow);
    const long = this.#long.valuesInto(this.#longNow);
    const cfg = this.#config;
    for (let i = 0; i < this.#touchedCount; i++) {
      const s = i32At(this.#touched, i);
      this.#high[s] = this.#low[s] = this.#close[s] = Number.NaN;
      const a = f64At(short, s);
      const b = f64At(long, s);
      if (!(b > 0) || !Number.isFinite(a)) continue; // not seeded yet, or no range at all
      const ratio = a / b;
      if (this.#elevated[s] === 1) {
        if (ratio < cfg.regimeRearmRatio) this.#elevated[s] = 0;
      } else if (ratio >= cfg.regimeRatio) {
        this.#elevated[s] = 1;
        out.push(this.#event(s, ratio, a, b));
      }
    }
    this.#touchedCount = 0;
  }

  #event(slot: number, ratio: number, atrShort: number, atrLong: number): VolatilityRegimeEvent {
    const cfg = this.#config;
    return anomalyEvent<VolatilityRegimeEvent>({
      type: 'VOLATILITY_REGIME',
      severity: 'WARNING',
      symbols: [this.#registry.symbolAt(slot)],
      timestamp: f64At(this.#timestamp, slot),
      inputs: {
        ratio,
        atrShort,
        atrLong,
        threshold: cfg.regimeRatio,
        rearm: cfg.regimeRearmRatio,
        shortPeriod: cfg.atrShortPeriod,
        longPeriod: cfg.atrLongPeriod,
      },
      actions: cfg.actions.VOLATILITY_REGIME,
    });
  }

  /** Returns both banks' memory to the kernel module. */
  dispose(): void {
    this.#short.dispose();
    this.#long.dispose();
  }

  /** The typed arrays this object owns (for memory accounting; the ATR state is in WASM). */
  buffers(): readonly ArrayBufferView[] {
    return [
      this.#high,
      this.#low,
      this.#close,
      this.#timestamp,
      this.#touched,
      this.#cuHigh,
      this.#cuLow,
      this.#cuClose,
      this.#cuTouched,
      this.#elevated,
      this.#shortNow,
      this.#longNow,
    ];
  }
}
