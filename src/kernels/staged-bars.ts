import type { AtrBank } from './atr.js';
import { f64At, i32At } from '../util/indexed.js';

/**
 * Bars staged for an ATR bank as a compact list (slot, high, low, close), then written into
 * the bank's own input columns and applied to those slots only ({@link AtrBank.updateSlots}):
 * the cost follows the bars staged, not the bank's width. Fixed capacity, no allocation.
 *
 * @example
 * ```ts
 * staged.add(slot, bar.high, bar.low, bar.close); // each bar of a round, one per slot
 * staged.applyTo(bank);                           // O(staged)
 * staged.count = 0;
 * ```
 */
export class StagedBars {
  /** Bars staged (the first `count` entries of each column). */
  count = 0;
  readonly slot: Int32Array;
  readonly #high: Float64Array;
  readonly #low: Float64Array;
  readonly #close: Float64Array;

  /** `capacity`: the most bars staged at once (one per slot). */
  constructor(capacity: number) {
    this.slot = new Int32Array(capacity);
    this.#high = new Float64Array(capacity);
    this.#low = new Float64Array(capacity);
    this.#close = new Float64Array(capacity);
  }

  /** Stages one bar of `slot`. */
  add(slot: number, high: number, low: number, close: number): void {
    const i = this.count++;
    this.slot[i] = slot;
    this.#high[i] = high;
    this.#low[i] = low;
    this.#close[i] = close;
  }

  /** Writes the staged bars into `bank`'s input and applies them to their slots (the list is kept). */
  applyTo(bank: AtrBank): void {
    const { high, low, close, slots } = bank.input();
    for (let i = 0; i < this.count; i++) {
      const s = i32At(this.slot, i);
      high[s] = f64At(this.#high, i);
      low[s] = f64At(this.#low, i);
      close[s] = f64At(this.#close, i);
      slots[i] = s;
    }
    bank.updateSlots(this.count);
  }

  /** The typed arrays this object owns (for memory accounting). */
  buffers(): readonly ArrayBufferView[] {
    return [this.slot, this.#high, this.#low, this.#close];
  }
}
