import { at, i32At } from '../util/indexed.js';
/**
 * Splits a batch into rounds with at most one bar per slot, keeping order: a slot's first
 * bar goes in round 0, its second in round 1, and so on, so each slot's bars reach the
 * kernels in time order and each round is one kernel update. O(batch), no allocation after
 * the scratch has grown to the largest batch.
 *
 * @example
 * ```ts
 * const rounds = splitter.split(cols.slot, cols.size);
 * for (let r = 0; r < rounds; r++) {
 *   for (let k = splitter.start(r); k < splitter.start(r + 1); k++) handle(splitter.order[k]);
 * }
 * ```
 */
export class RoundSplitter {
  /** Rows of the batch, grouped by round (round r is order[start(r), start(r + 1))). */
  order = new Int32Array(0);
  #round = new Int32Array(0);
  #starts: number[] = [0, 0];
  readonly #seenStamp: Float64Array;
  readonly #seenCount: Int32Array;
  #stamp = 0;

  /** `slots`: the number of slots a row's slot may take, [0, slots). */
  constructor(slots: number) {
    this.#seenStamp = new Float64Array(slots);
    this.#seenCount = new Int32Array(slots);
  }

  /** Splits rows [0, `rows`) by their `slot`; returns the number of rounds (0 for none). */
  split(slot: Int32Array, rows: number): number {
    if (this.order.length < rows) {
      this.order = new Int32Array(rows);
      this.#round = new Int32Array(rows);
    }
    const stamp = ++this.#stamp;
    const seenStamp = this.#seenStamp;
    const seenCount = this.#seenCount;
    const round = this.#round;
    let rounds = 0;
    for (let i = 0; i < rows; i++) {
      const s = i32At(slot, i);
      if (seenStamp[s] !== stamp) {
        seenStamp[s] = stamp;
        seenCount[s] = 0;
      }
      const r = i32At(seenCount, s);
      seenCount[s] = r + 1;
      round[i] = r;
      if (r + 1 > rounds) rounds = r + 1;
    }
    const starts = this.#starts;
    starts.length = rounds + 1;
    if (rounds <= 1) {
      for (let i = 0; i < rows; i++) this.order[i] = i;
      starts[0] = 0;
      starts[rounds] = rows;
      return rounds;
    }
    starts.fill(0);
    for (let i = 0; i < rows; i++) {
      const k = i32At(round, i) + 1;
      starts[k] = (starts[k] ?? 0) + 1;
    }
    for (let r = 1; r <= rounds; r++) starts[r] = (starts[r] ?? 0) + (starts[r - 1] ?? 0);
    const cursor = starts.slice(0, rounds);
    for (let i = 0; i < rows; i++) {
      const r = i32At(round, i);
      const to = cursor[r] ?? 0;
      cursor[r] = to + 1;
      this.order[to] = i;
    }
    return rounds;
  }

  /** The per-slot scratch (fixed at construction; `order` grows with the largest batch). For memory accounting. */
  buffers(): readonly ArrayBufferView[] {
    return [this.#seenStamp, this.#seenCount];
  }

  /** Index in {@link RoundSplitter.order} where round `r` starts (`r` = rounds: the end). */
  start(r: number): number {
    return at(this.#starts, r);
  }
}
