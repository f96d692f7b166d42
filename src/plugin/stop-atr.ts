import type { AnomalyDetector } from '../anomaly/detector.js';
import type { AtrBank } from '../kernels/atr.js';
import type { Kernels } from '../kernels/load.js';
import type { BarColumns } from '../market/bar-columns.js';
import { StagedBars } from '../kernels/staged-bars.js';
import { i32At } from '../util/indexed.js';

/**
 * The ATR the stops trail on, by registry slot. The anomaly detector keeps ATR(atrShortPeriod)
 * with suspected bad ticks held out; when the stops want the same period they read it and no
 * second bank is kept ({@link createStopAtr} decides).
 */
export interface StopAtr {
  /** ATR by slot as of the last round (NaN while warming up): a view the next round overwrites. */
  readonly values: Float64Array;
  /**
   * Feeds one round of bars: rows `order[from, to)` of `cols` (at most one per slot),
   * `held[k − from]` 1 for a row whose symbol is quarantined (kept out of the ATR, as it is
   * kept out of the detector's).
   */
  update(cols: BarColumns, order: Int32Array, from: number, to: number, held: Uint8Array): void;
  /** Symbol-updates of the stops' own bank (0 when it is the detector's, counted there). */
  readonly work: number;
  /** Frees what the stops' ATR holds (nothing when it is the detector's). */
  dispose(): void;
}

/** The detector's short ATR: updated by the detector itself. */
class SharedAtr implements StopAtr {
  readonly #detector: AnomalyDetector;

  constructor(detector: AnomalyDetector) {
    this.#detector = detector;
  }

  get values(): Float64Array {
    return this.#detector.shortAtr;
  }

  readonly work = 0;

  update(): void {
    // The detector has already taken the round.
  }

  dispose(): void {
    // The detector owns the bank.
  }
}

/** The stops' own ATR bank, updated for the slots that had a bar this round only. */
class OwnAtr implements StopAtr {
  readonly #bank: AtrBank;
  readonly #staged: StagedBars;

  constructor(kernels: Kernels, slots: number, period: number) {
    this.#bank = kernels.atrBank({ symbols: slots, period });
    this.#staged = new StagedBars(slots);
  }

  get values(): Float64Array {
    return this.#bank.valuesView();
  }

  get work(): number {
    return this.#bank.work;
  }

  update(cols: BarColumns, order: Int32Array, from: number, to: number, held: Uint8Array): void {
    const bar = cols.row;
    const staged = this.#staged;
    staged.count = 0;
    for (let k = from; k < to; k++) {
      if (held[k - from] === 1) continue;
      bar.at = i32At(order, k);
      staged.add(bar.slot, bar.high, bar.low, bar.close);
    }
    staged.applyTo(this.#bank);
  }

  dispose(): void {
    this.#bank.dispose();
  }
}

/**
 * The stops' ATR over `slots` symbols: the detector's short ATR when its period is
 * `period`, else a bank of the stops' own.
 *
 * @example
 * ```ts
 * const atr = createStopAtr(kernels, detector, maxSymbols, config.stops.atrPeriod);
 * atr.update(cols, order, from, to, held);
 * stops.onBar(bar, atr.values[slot] ?? Number.NaN);
 * ```
 */
export function createStopAtr(kernels: Kernels, detector: AnomalyDetector, slots: number, period: number): StopAtr {
  return detector.config.atrShortPeriod === period ? new SharedAtr(detector) : new OwnAtr(kernels, slots, period);
}
