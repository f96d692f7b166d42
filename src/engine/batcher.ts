import type { Bar } from '../vocabulary/market.js';

/**
 * Groups consecutive bars with the same timestamp into one batch. `push` returns the previous
 * batch when a bar with a different timestamp starts a new one; `flush` returns the last.
 * Batches are frozen arrays in source order.
 *
 * @example
 * ```ts
 * const b = new Batcher();
 * b.push(a1); b.push(b1);   // undefined, undefined (same timestamp)
 * b.push(a2);               // [a1, b1]
 * b.flush();                // [a2]
 * ```
 */
export class Batcher {
  #bars: Bar[] = [];

  /** Adds `bar`; returns the completed batch when `bar` starts a new one. */
  push(bar: Bar): readonly Bar[] | undefined {
    const first = this.#bars[0];
    if (first === undefined || first.timestamp === bar.timestamp) {
      this.#bars.push(bar);
      return undefined;
    }
    const done = Object.freeze(this.#bars);
    this.#bars = [bar];
    return done;
  }

  /** The batch in progress, if any, and starts afresh. */
  flush(): readonly Bar[] | undefined {
    if (this.#bars.length === 0) return undefined;
    const done = Object.freeze(this.#bars);
    this.#bars = [];
    return done;
  }
}
