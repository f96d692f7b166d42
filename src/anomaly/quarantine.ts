import type { Bar } from '../vocabulary/market.js';
import { f64At } from '../util/indexed.js';

/**
 * Per-slot quarantine of a suspected bad tick: the held spike bar (high, low, close, time,
 * z) and the close before it, in preallocated columns. A slot is held for exactly one bar:
 * the next bar of the symbol releases it, confirming or reverting the spike.
 *
 * @example
 * ```ts
 * book.hold(slot, spikeBar, previousClose, z);
 * book.isActive(slot);               // true until the next bar
 * const r = book.retrace(slot, next.close); // 1 = back to previousClose, 0 = stayed at the spike
 * book.release(slot);
 * ```
 */
export class QuarantineBook {
  readonly #active: Uint8Array;
  readonly #high: Float64Array;
  readonly #low: Float64Array;
  readonly #close: Float64Array;
  readonly #timestamp: Float64Array;
  readonly #z: Float64Array;
  readonly #previousClose: Float64Array;

  constructor(slots: number) {
    this.#active = new Uint8Array(slots);
    this.#high = new Float64Array(slots);
    this.#low = new Float64Array(slots);
    this.#close = new Float64Array(slots);
    this.#timestamp = new Float64Array(slots);
    this.#z = new Float64Array(slots);
    this.#previousClose = new Float64Array(slots);
  }

  /** True while `slot` holds a spike bar awaiting its next bar. */
  isActive(slot: number): boolean {
    return this.#active[slot] === 1;
  }

  /** Quarantines `slot` with its spike `bar`. */
  hold(slot: number, bar: Bar, previousClose: number, z: number): void {
    this.#active[slot] = 1;
    this.#high[slot] = bar.high;
    this.#low[slot] = bar.low;
    this.#close[slot] = bar.close;
    this.#timestamp[slot] = bar.timestamp;
    this.#z[slot] = z;
    this.#previousClose[slot] = previousClose;
  }

  /** Lifts the quarantine; the held values stay readable until the next `hold`. */
  release(slot: number): void {
    this.#active[slot] = 0;
  }

  /**
   * Fraction of the spike's move, in log price, that `close` takes back:
   * ln(spike/close)/ln(spike/previous). 1 is back at the previous close, 0 stays at the
   * spike, negative moves further. 0 when the spike did not move the price.
   */
  retrace(slot: number, close: number): number {
    const spike = f64At(this.#close, slot);
    const move = Math.log(spike / f64At(this.#previousClose, slot));
    return move === 0 ? 0 : Math.log(spike / close) / move;
  }

  high(slot: number): number {
    return f64At(this.#high, slot);
  }

  low(slot: number): number {
    return f64At(this.#low, slot);
  }

  close(slot: number): number {
    return f64At(this.#close, slot);
  }

  timestamp(slot: number): number {
    return f64At(this.#timestamp, slot);
  }

  z(slot: number): number {
    return f64At(this.#z, slot);
  }

  previousClose(slot: number): number {
    return f64At(this.#previousClose, slot);
  }

  /** The typed arrays this object owns (for memory accounting). */
  buffers(): readonly ArrayBufferView[] {
    return [this.#active, this.#high, this.#low, this.#close, this.#timestamp, this.#z, this.#previousClose];
  }
}
