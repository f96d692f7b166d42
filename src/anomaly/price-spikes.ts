import type { Bar } from '../vocabulary/market.js';
import type { AnomalyConfig } from './config.js';
import {
  anomalyEvent,
  type AnomalyAction,
  type AnomalyEvent,
  type BadTickEvent,
  type PriceSpikeEvent,
} from './events.js';
import { QuarantineBook } from './quarantine.js';
import type { Kernels } from '../kernels/load.js';
import type { WindowBank } from '../kernels/windows.js';
import { type RobustScorer } from './robust.js';
import { f64At, i32At } from '../util/indexed.js';

/** How a bar of the current round is scored (see {@link PriceSpikes.stage}). */
const enum Row {
  /** The symbol's first bar: nothing to compare with. */
  First = 0,
  /** Scored and pushed in the batch; flagged ones are finished by the host code. */
  Batch = 1,
  /** Its symbol is quarantined: the whole bar is handled by {@link PriceSpikes.observe}. */
  Quarantined = 2,
}

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
 * A round of bars is scored in three steps, so that the windows are updated by one kernel
 * call: {@link PriceSpikes.stage} each bar, {@link PriceSpikes.run} once, then
 * {@link PriceSpikes.finish} each bar in order (events come out in bar order). A bar the
 * kernel cannot rule out is scored exactly in `finish`.
 *
 * @example
 * ```ts
 * spikes.begin();
 * for (const [row, bar] of round.entries()) spikes.stage(row, slotOf(bar), bar);
 * spikes.run();
 * for (const [row, bar] of round.entries()) {
 *   const r = spikes.finish(row, slotOf(bar), bar, events); // accepted log return, NaN if none
 *   if (spikes.confirmed) feedHeldBar(spikes.book, slotOf(bar));
 *   if (!spikes.held) feedBar(bar);
 * }
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
  readonly #windows: WindowBank;
  readonly #last: Float64Array;
  /** Per row of the current round: how it is scored, and its row in the kernel batch. */
  readonly #kind: Uint8Array;
  readonly #batchRow: Int32Array;
  #values: Float64Array;
  #slots: Int32Array;
  #rows = 0;
  #flags: Int32Array;
  readonly #scorer: RobustScorer;
  readonly #quarantines: boolean;
  readonly #actionsHeld: readonly AnomalyAction[];
  readonly #actionsPlain: readonly AnomalyAction[];

  constructor(kernels: Kernels, config: AnomalyConfig, scorer: RobustScorer) {
    this.#config = config;
    this.#scorer = scorer;
    this.#windows = kernels.windowBank({ symbols: config.maxSymbols, window: config.spikeWindow });
    this.#kind = new Uint8Array(config.maxSymbols);
    this.#batchRow = new Int32Array(config.maxSymbols);
    ({ values: this.#values, slots: this.#slots } = this.#windows.input());
    this.#flags = new Int32Array(0);
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

  /** Starts a round (see the class notes). */
  begin(): void {
    ({ values: this.#values, slots: this.#slots } = this.#windows.input());
    this.#rows = 0;
  }

  /** Stages row `row` of the round: `slot`'s bar (at most one per slot in a round). */
  stage(row: number, slot: number, bar: Bar): void {
    if (this.book.isActive(slot)) {
      this.#kind[row] = Row.Quarantined;
      return;
    }
    const prev = f64At(this.#last, slot);
    if (!(prev > 0)) {
      this.#kind[row] = Row.First;
      return;
    }
    this.#kind[row] = Row.Batch;
    const b = this.#rows++;
    this.#batchRow[row] = b;
    this.#values[b] = Math.log(bar.close / prev);
    this.#slots[b] = slot;
  }

  /**
   * Scores the staged rows in one kernel call: a return that cannot be a spike (|r − median|
   * is below priceZ times a lower bound on the scale: almost every bar) is pushed to its
   * window; the others are left for `finish` to score exactly.
   */
  run(): void {
    const cfg = this.#config;
    this.#flags = this.#windows.checkPush(this.#rows, cfg.minSamples, cfg.priceZ, cfg.priceScaleFloor, false);
  }

  /** Finishes row `row` (in row order); appends events to `out`; returns the accepted log return or NaN. */
  finish(row: number, slot: number, bar: Bar, out: AnomalyEvent[]): number {
    const kind = this.#kind[row];
    if (kind === Row.Quarantined) return this.observe(slot, bar, out);
    this.held = false;
    this.confirmed = false;
    if (kind === Row.First) {
      this.#last[slot] = bar.close;
      return Number.NaN;
    }
    const b = i32At(this.#batchRow, row);
    const r = f64At(this.#values, b);
    const prev = f64At(this.#last, slot);
    if (this.#flags[b] === 1) {
      if (this.#score(slot, bar, r, prev, out)) return Number.NaN;
      this.#windows.push(slot, r);
    }
    this.#last[slot] = bar.close;
    return r;
  }

  /** Processes one bar of `slot` on its own; appends events to `out`; returns the accepted log return or NaN. */
  observe(slot: number, bar: Bar, out: AnomalyEvent[]): number {
    this.held = false;
    this.confirmed = false;
    const cfg = this.#config;
    let prev = f64At(this.#last, slot);
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
    // The bar right after a quarantine (rare) is scored exactly; the kernel's bound only
    // saves that work on the batch path.
    if (this.#windows.count(slot) >= cfg.minSamples && this.#score(slot, bar, r, prev, out)) return Number.NaN;
    this.#windows.push(slot, r);
    this.#last[slot] = bar.close;
    return r;
  }

  /**
   * Scores return `r` of `slot`'s bar exactly against its window; appends a PRICE_SPIKE to
   * `out` when |z| ≥ priceZ. Returns true when the bar is quarantined (held: not pushed).
   */
  #score(slot: number, bar: Bar, r: number, prev: number, out: AnomalyEvent[]): boolean {
    const cfg = this.#config;
    const scorer = this.#scorer;
    scorer.fit(this.#windows, slot, cfg.priceScaleFloor);
    const z = scorer.z(r);
    const absZ = Math.abs(z);
    if (absZ < cfg.priceZ) return false;
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
    if (!quarantine) return false;
    this.book.hold(slot, bar, prev, z);
    this.#last[slot] = prev;
    this.held = true;
    return true;
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
    return [this.#last, this.#kind, this.#batchRow, ...this.book.buffers()];
  }

  /** Returns the window bank's WASM memory. */
  dispose(): void {
    this.#windows.dispose();
  }
}
