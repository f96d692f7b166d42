import type { Bar } from '../vocabulary/market.js';
import type { AnomalyConfig } from './config.js';
import { anomalyEvent, type AnomalyAction, type AnomalyEvent, type BadTickEvent, type PriceSpikeEvent } from './events.js';
import { QuarantineBook } from './quarantine.js';
import { SortedWindows } from './windows.js';
import { RobustScorer } from './robust.js';

/**
 * PRICE_SPIKE detection and bad-tick quarantine, per slot.
 *
 * Each bar's log return ln(close/previousClose) is scored against the symbol's previous
 * `spikeWindow` accepted returns (robust z, see {@link RobustScorer}) once there are
 * `minSamples` of them; |z| ≥ `priceZ` fires PRICE_SPIKE.
 *
 * When |z| ≥ `badTickZ` and PRICE_SPIKE's actions include QUARANTINE, the bar is held: its
 * return does not enter the window, the previous close stays the reference, and `held` is
 * set so the caller keeps it out of the ATR and correlation kernels. The symbol's next bar
 * decides: if it takes back at least `revertFraction` of the spike's log move, BAD_TICK is
 * reported for the spike bar, which is dropped for good (the next return is measured from the
 * pre-spike close); otherwise the move is confirmed: its return enters the window, its close
 * becomes the reference, and `confirmed` is set so the caller feeds the held bar to the ATR
 * kernels before the new one. Either way the quarantine lifts on that bar.
 *
 * @example
 * ```ts
 * const r = spikes.observe(slot, bar, events); // accepted log return, NaN if none
 * if (spikes.confirmed) feedHeldBar(spikes.book, slot);
 * if (!spikes.held) feedBar(bar);
 * ```
 */
export class PriceSpikes {
  /** Set by the last `observe`: that bar is quarantined (not accepted yet). */
  held = false;
  /** Set by the last `observe`: a quarantined spike bar was confirmed; it is still in `book`. */
  confirmed = false;
  /** Quarantined spike bars. */
  readonly book: QuarantineBook;
  readonly #config: AnomalyConfig;
  readonly #windows: SortedWindows;
  readonly #last: Float64Array;
  readonly #scorer: RobustScorer;
  readonly #quarantines: boolean;
  readonly #actionsHeld: readonly AnomalyAction[];
  readonly #actionsPlain: readonly AnomalyAction[];

  constructor(config: AnomalyConfig, scorer: RobustScorer) {
    this.#config = config;
    this.#scorer = scorer;
    this.#windows = new SortedWindows(config.maxSymbols, config.spikeWindow);
    this.#last = new Float64Array(config.maxSymbols).fill(Number.NaN);
    this.book = new QuarantineBook(config.maxSymbols);
    this.#actionsHeld = config.actions.PRICE_SPIKE;
    this.#actionsPlain = config.actions.PRICE_SPIKE.filter((a) => a !== 'QUARANTINE');
    this.#quarantines = this.#actionsHeld.includes('QUARANTINE');
  }

  /** True while `slot` is quarantined. */
  isQuarantined(slot: number): boolean {
    return this.book.isActive(slot);
  }

  /** Processes one bar of `slot`; appends events to `out`; returns the accepted log return or NaN. */
  observe(slot: number, bar: Bar, out: AnomalyEvent[]): number {
    this.held = false;
    this.confirmed = false;
    const cfg = this.#config;
    let prev = this.#last[slot] as number;
    if (this.book.isActive(slot)) {
      this.book.release(slot);
      const retrace = this.book.retrace(slot, bar.close);
      if (retrace >= cfg.revertFraction) {
        out.push(this.#badTick(slot, bar, retrace));
      } else {
        const spike = this.book.close(slot);
        this.#windows.push(slot, Math.log(spike / prev));
        prev = spike;
        this.confirmed = true;
      }
    }
    if (!(prev > 0)) {
      this.#last[slot] = bar.close; // first bar: nothing to compare with
      return Number.NaN;
    }
    const r = Math.log(bar.close / prev);
    // |z| ≥ priceZ needs |r − median| ≥ priceZ·scale; when even the scale's lower bound rules
    // that out (almost every bar), the exact MAD is not needed.
    const w = this.#windows;
    if (
      w.count(slot) >= cfg.minSamples &&
      Math.abs(r - w.median(slot)) >= cfg.priceZ * RobustScorer.scaleLowerBound(w, slot, cfg.priceScaleFloor)
    ) {
      const scorer = this.#scorer;
      scorer.fit(this.#windows, slot, cfg.priceScaleFloor);
      const z = scorer.z(r);
      const absZ = Math.abs(z);
      if (absZ >= cfg.priceZ) {
        const quarantine = this.#quarantines && absZ >= cfg.badTickZ;
        out.push(
          anomalyEvent<PriceSpikeEvent>({
            type: 'PRICE_SPIKE',
            severity: quarantine ? 'CRITICAL' : 'WARNING',
            symbols: [bar.symbol],
            timestamp: bar.timestamp,
            inputs: {
              value: r,
              median: scorer.median,
              mad: scorer.mad,
              scale: scorer.scale,
              z,
              threshold: cfg.priceZ,
              samples: scorer.samples,
              close: bar.close,
              previousClose: prev,
              badTickThreshold: cfg.badTickZ,
            },
            actions: quarantine ? this.#actionsHeld : this.#actionsPlain,
          }),
        );
        if (quarantine) {
          this.book.hold(slot, bar, prev, z);
          this.#last[slot] = prev;
          this.held = true;
          return Number.NaN;
        }
      }
    }
    this.#windows.push(slot, r);
    this.#last[slot] = bar.close;
    return r;
  }

  #badTick(slot: number, bar: Bar, retrace: number): BadTickEvent {
    const book = this.book;
    return anomalyEvent<BadTickEvent>({
      type: 'BAD_TICK',
      severity: 'WARNING',
      symbols: [bar.symbol],
      timestamp: book.timestamp(slot),
      inputs: {
        spikeClose: book.close(slot),
        previousClose: book.previousClose(slot),
        close: bar.close,
        retrace,
        revertFraction: this.#config.revertFraction,
        z: book.z(slot),
      },
      actions: this.#config.actions.BAD_TICK,
      reason: 'REVERTED',
    });
  }

  /** The typed arrays this object owns (for memory accounting). */
  buffers(): readonly ArrayBufferView[] {
    return [...this.#windows.buffers(), this.#last, ...this.book.buffers()];
  }
}
