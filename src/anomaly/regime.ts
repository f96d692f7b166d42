import type { AtrBank } from '../kernels/atr.js';
import { StagedBars } from '../kernels/staged-bars.js';
import type { Kernels } from '../kernels/load.js';
import type { Bar } from '../vocabulary/market.js';
import type { AnomalyConfig } from './config.js';
import { anomalyEvent, type AnomalyEvent, type VolatilityRegimeEvent } from './events.js';
import type { SymbolRegistry } from '../market/symbol-registry.js';
import { f64At } from '../util/indexed.js';

/**
 * VOLATILITY_REGIME detection: two streaming ATR banks (`atrShortPeriod`, `atrLongPeriod`)
 * over every slot; ratio = ATR(short)/ATR(long). A slot fires once when its ratio reaches
 * `regimeRatio`, then stays quiet until the ratio falls below `regimeRearmRatio` (hysteresis,
 * so a ratio hovering at the threshold does not flap).
 *
 * Bars are staged per round (one per slot) and applied with one kernel call per bank in
 * `apply`, to the slots that had a bar only (a slot without one is not touched). A confirmed
 * quarantined bar is staged with `stageCatchUp` and applied in an extra call before the
 * round's bars, so each symbol's bars reach the kernels in time order.
 *
 * @example
 * ```ts
 * regime.stage(slot, bar);        // for each bar of the round
 * regime.apply();                 // one update per bank
 * regime.crossing(slot, events);  // for each bar staged
 * ```
 */
export class VolatilityRegime {
  readonly #config: AnomalyConfig;
  readonly #registry: SymbolRegistry;
  readonly #short: AtrBank;
  readonly #long: AtrBank;
  /** This round's bars, compact (slot, high, low, close), and each slot's last bar time. */
  readonly #round: StagedBars;
  readonly #timestamp: Float64Array;
  /** Confirmed held bars, applied before this round's. */
  readonly #catchUp: StagedBars;
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
    this.#round = new StagedBars(n);
    this.#catchUp = new StagedBars(n);
    this.#timestamp = new Float64Array(n);
    this.#elevated = new Uint8Array(n);
  }

  /**
   * ATR(atrShortPeriod) of every slot after the last round (NaN until seeded): a view into
   * the kernel's memory that the next round overwrites. Bad ticks never enter it; a confirmed
   * spike enters before the bar that confirmed it.
   */
  get shortAtr(): Float64Array {
    return this.#short.valuesView();
  }

  /** Symbol-updates both ATR banks have performed (for tests of cost). */
  get work(): number {
    return this.#short.work + this.#long.work;
  }

  /** Stages `slot`'s bar for this round (at most one per slot per round). */
  stage(slot: number, bar: Bar): void {
    this.#round.add(slot, bar.high, bar.low, bar.close);
    this.#timestamp[slot] = bar.timestamp;
  }

  /** Stages a confirmed held bar of `slot`, applied before this round's bars. */
  stageCatchUp(slot: number, high: number, low: number, close: number): void {
    this.#catchUp.add(slot, high, low, close);
  }

  /**
   * Applies the staged bars to both ATR banks, the slots that had one only (O(bars staged),
   * whatever `maxSymbols` is): confirmed held bars first, then the round's.
   */
  apply(): void {
    if (this.#catchUp.count > 0) {
      this.#catchUp.applyTo(this.#short);
      this.#catchUp.applyTo(this.#long);
      this.#catchUp.count = 0;
    }
    const round = this.#round;
    if (round.count === 0) return;
    round.applyTo(this.#short);
    round.applyTo(this.#long);
    round.count = 0;
  }

  /** After {@link VolatilityRegime.apply}: `slot`'s crossing, if its bar this round made one, appended to `out`. */
  crossing(slot: number, out: AnomalyEvent[]): void {
    const a = f64At(this.#short.valuesView(), slot);
    const b = f64At(this.#long.valuesView(), slot);
    if (!(b > 0) || !Number.isFinite(a)) return; // not seeded yet, or no range at all
    const ratio = a / b;
    const cfg = this.#config;
    if (this.#elevated[slot] === 1) {
      if (ratio < cfg.regimeRearmRatio) this.#elevated[slot] = 0;
    } else if (ratio >= cfg.regimeRatio) {
      this.#elevated[slot] = 1;
      out.push(this.#event(slot, ratio, a, b));
    }
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
    return [...this.#round.buffers(), ...this.#catchUp.buffers(), this.#timestamp, this.#elevated];
  }
}
